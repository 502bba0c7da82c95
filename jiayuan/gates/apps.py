from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GatesConfig(AppConfig):
    name = "jiayuan.gates"
    label = "gates"
    verbose_name = _("门岗")

    def ready(self) -> None:
        from jiayuan.gates import audit_labels

        audit_labels.register()
