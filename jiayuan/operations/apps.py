from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    name = "jiayuan.operations"
    label = "operations"
    verbose_name = _("日常运行")

    def ready(self) -> None:
        from jiayuan.core import extensions, help
        from jiayuan.core.permissions import Action
        from jiayuan.operations import audit_labels, demo, services, today

        extensions.nav_item(_("巡查消杀"), "operations:index", Action.VIEW_OPERATIONS, order=45)
        extensions.today_item(today.today, order=45)
        extensions.home_panel(today.home_panel)
        extensions.demo_loader(demo.load, order=60)
        extensions.retention_rule("operations.finding_photos", services.finding_photos_purge)
        extensions.bulletin_section("operations", today.bulletin, order=60)
        extensions.trend_series("operations.disinfections", _("消杀次数"), today.trend_disinfections, order=60)
        extensions.trend_series("operations.findings", _("巡查发现"), today.trend_findings, order=61)
        extensions.rollup_column("operations.open_tasks", _("未整改任务"), today.rollup_open_tasks, order=60)
        audit_labels.register()
        help.register_sections(
            {
                "operations": {"zh": "operations", "en": "operations"},
                "operations-findings": {"zh": "operations#登记巡查发现", "en": "operations#logging-a-finding"},
                "operations-tasks": {"zh": "operations#整改任务", "en": "operations#follow-up-tasks"},
                "operations-patrols": {"zh": "operations#巡查", "en": "operations#patrols"},
                "operations-disinfection": {"zh": "operations#今日消杀", "en": "operations#todays-disinfection"},
                "operations-garbage": {"zh": "operations#垃圾清运", "en": "operations#garbage-rounds"},
                "operations-cases": {"zh": "operations#隐患与群租", "en": "operations#hazards-and-group-rentals"},
                "operations-settings": {"zh": "operations#设置", "en": "operations#settings"},
            },
            {
                "operations": "operations",
                "operations:finding_new": "operations-findings",
                "operations:tasks": "operations-tasks",
                "operations:task": "operations-tasks",
                "operations:patrols": "operations-patrols",
                "operations:disinfection": "operations-disinfection",
                "operations:garbage": "operations-garbage",
                "operations:cases": "operations-cases",
                "operations:case": "operations-cases",
                "operations:settings": "operations-settings",
            },
        )
