from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    name = "jiayuan.screening"
    label = "screening"
    verbose_name = _("筛查")

    def ready(self) -> None:
        # Menu entries, household-link and home panels, demo data and event handlers are
        # registered here (see jiayuan.core.extensions).
        pass
