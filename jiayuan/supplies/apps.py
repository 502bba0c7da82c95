from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SuppliesConfig(AppConfig):
    name = "jiayuan.supplies"
    label = "supplies"
    verbose_name = _("物资保障")

    def ready(self) -> None:
        # Menu entries, household-link and home panels, demo data and event handlers are
        # registered here (see jiayuan.core.extensions).
        pass
