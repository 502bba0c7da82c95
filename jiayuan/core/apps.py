from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "jiayuan.core"
    label = "core"
    verbose_name = _("基础")

    def ready(self) -> None:
        from jiayuan.core import audit_labels

        audit_labels.register()
