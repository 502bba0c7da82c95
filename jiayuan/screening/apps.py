from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    name = "jiayuan.screening"
    label = "screening"
    verbose_name = _("筛查")

    def ready(self) -> None:
        from jiayuan.core import extensions
        from jiayuan.core.permissions import Action
        from jiayuan.screening import audit_labels, bulletin, demo, panels, services, today

        extensions.nav_item(_("筛查"), "screening:rounds", Action.VIEW_SCREENING)
        extensions.nav_item(_("采样"), "screening:sampler_home", Action.SAMPLE)
        extensions.household_panel(panels.household_panel)
        extensions.home_panel(panels.home_panel)
        extensions.today_item(today.today, order=20)
        extensions.demo_loader(demo.demo_load, order=20)
        extensions.retention_rule("screening.antigen_photos", services.antigen_photos_purge)
        audit_labels.register()
        bulletin.register()
