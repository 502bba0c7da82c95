from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "jiayuan.care"
    label = "care"
    verbose_name = _("民呼我应")

    def ready(self) -> None:
        pass
