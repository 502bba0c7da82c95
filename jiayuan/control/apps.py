from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ControlConfig(AppConfig):
    name = "jiayuan.control"
    label = "control"
    verbose_name = _("防控")

    def ready(self) -> None:
        from jiayuan.control import audit_labels, bulletin, demo, panels, services, today
        from jiayuan.core import extensions
        from jiayuan.core.permissions import Action

        extensions.nav_item(_("防控"), "control:index", Action.VIEW_ZONES)
        extensions.household_panel(panels.household_health_panel)
        extensions.home_panel(panels.home_alerts_panel)
        extensions.today_item(today.today, order=10)
        extensions.demo_loader(demo.demo_load, order=10)
        extensions.subscribe("screening.positive", services.on_screening_positive)
        extensions.subscribe("screening.pool_positive", services.on_pool_positive)
        extensions.subscribe("screening.antigen_positive", services.on_antigen_positive)
        extensions.subscribe("screening.retest_negative", services.on_retest_negative)
        audit_labels.register()
        bulletin.register()
