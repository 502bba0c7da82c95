from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GatesConfig(AppConfig):
    name = "jiayuan.gates"
    label = "gates"
    verbose_name = _("门岗")

    def ready(self) -> None:
        from jiayuan.core import extensions, help
        from jiayuan.core.permissions import Action
        from jiayuan.gates import audit_labels, demo, household_views, staffing, today

        extensions.nav_item(_("门岗"), "gates:index", Action.VIEW_GATES, order=35)
        extensions.household_panel(household_views.panel)
        extensions.home_panel(today.home_panel)
        extensions.today_item(today.today, order=35)
        extensions.demo_loader(demo.load, order=50)
        extensions.place_provider(staffing.KIND, staffing.places)
        extensions.bulletin_section("gates", today.bulletin, order=45)
        extensions.trend_series("gates.passages", _("门岗通行人次"), today.trend_passages, order=45)
        extensions.trend_series("gates.refused", _("门岗拒绝通行"), today.trend_refused, order=46)
        audit_labels.register()
        help.register_sections(
            {
                "gates": {"zh": "gates#今日门岗", "en": "gates#today-at-the-gate"},
                "gate-scan": {"zh": "gates#扫码通行", "en": "gates#one-scan-passage"},
                "gate-visitors": {"zh": "gates#访客和车辆", "en": "gates#visitors-and-vehicles"},
                "gate-returnees": {"zh": "gates#返沪人员门岗登记", "en": "gates#returnees-at-the-gate"},
                "gates-setup": {"zh": "gates#门岗设置与开关", "en": "gates#setting-up-gates"},
                "gate-passages": {"zh": "gates#出入记录", "en": "gates#the-passage-log"},
                "gate-passes": {"zh": "gates#通行证", "en": "gates#passes"},
                "parcels": {"zh": "gates#快递外卖", "en": "gates#parcels-and-takeaway"},
                "household-gates": {"zh": "gates#住户看到什么", "en": "gates#what-a-household-sees"},
            },
            {
                "gates": "gates",
                "gates:scan": "gate-scan",
                "gates:visitor": "gate-visitors",
                "gates:vehicle": "gate-visitors",
                "gates:returnee": "gate-returnees",
                "gates:gate": "gates-setup",
                "gates:gate_create": "gates-setup",
                "gates:settings": "gates-setup",
                "gates:passages": "gate-passages",
                "gates:passes": "gate-passes",
                "gates:pass_card": "gate-passes",
                "gates:parcels": "parcels",
                "gates:deliveries": "parcels",
                "gates_household": "household-gates",
            },
        )
