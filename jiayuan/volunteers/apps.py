from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VolunteersConfig(AppConfig):
    name = "jiayuan.volunteers"
    label = "volunteers"
    verbose_name = _("志愿者")

    def ready(self) -> None:
        from jiayuan.volunteers import audit_labels

        audit_labels.register()
