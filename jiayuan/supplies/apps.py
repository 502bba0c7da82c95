from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SuppliesConfig(AppConfig):
    name = "jiayuan.supplies"
    label = "supplies"
    verbose_name = _("物资保障")

    def ready(self) -> None:
        from jiayuan.core import extensions
        from jiayuan.core.permissions import Action
        from jiayuan.supplies import audit_labels, bulletin, demo, household_views, today

        extensions.nav_item(_("团购物资"), "supplies:index", Action.VIEW_SUPPLIES)
        extensions.household_panel(household_views.panel)
        extensions.home_panel(household_views.home_panel)
        extensions.today_item(today.today, order=30)
        extensions.demo_loader(demo.load, order=30)
        audit_labels.register()
        bulletin.register()
