from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BulletinConfig(AppConfig):
    name = "jiayuan.bulletin"
    label = "bulletin"
    verbose_name = _("日报与通知")

    def ready(self) -> None:
        from jiayuan.bulletin import audit_labels, demo, household_views, panels, today
        from jiayuan.core import extensions, help
        from jiayuan.core.permissions import Action

        extensions.nav_item(_("日报通知"), "bulletin:index", Action.EDIT_BULLETIN, order=60)
        extensions.household_panel(household_views.panel)
        extensions.home_panel(panels.home_panel)
        extensions.home_panel(panels.leader_panel)
        extensions.today_item(today.today, order=70)
        extensions.demo_loader(demo.load, order=90)
        audit_labels.register()
        help.register_sections(
            {
                "bulletin": {"zh": "bulletin", "en": "bulletin"},
                "bulletin-publish": {"zh": "bulletin#发布今天的日报", "en": "bulletin#publishing-todays-bulletin"},
                "notices": {
                    "zh": "bulletin#通知倡议书和居民公约",
                    "en": "bulletin#notices-appeals-and-the-residents-convention",
                },
                "trends": {"zh": "bulletin#趋势", "en": "bulletin#trends"},
                "rollup": {"zh": "bulletin#街道汇总", "en": "bulletin#street-roll-up"},
            },
            {
                "bulletin:index": "bulletin",
                "bulletin:detail": "bulletin-publish",
                "bulletin:notices": "notices",
                "bulletin:notice": "notices",
                "bulletin:notice_unread": "notices",
                "bulletin:acks": "notices",
                "bulletin:trends": "trends",
                "bulletin:rollup": "rollup",
            },
        )
