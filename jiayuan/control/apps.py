from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ControlConfig(AppConfig):
    name = "jiayuan.control"
    label = "control"
    verbose_name = _("防控")

    def ready(self) -> None:
        # Menu entries, household-link and home panels, demo data and event handlers are
        # registered here (see jiayuan.core.extensions).
        pass
