from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BulletinConfig(AppConfig):
    name = "jiayuan.bulletin"
    label = "bulletin"
    verbose_name = _("日报与通知")

    def ready(self) -> None:
        pass
