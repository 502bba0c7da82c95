from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    name = "jiayuan.operations"
    label = "operations"
    verbose_name = _("日常运行")

    def ready(self) -> None:
        pass
