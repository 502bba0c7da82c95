from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "jiayuan.people"
    label = "people"
    verbose_name = _("居民")

    def ready(self) -> None:
        from jiayuan.people import audit_labels, bulletin

        audit_labels.register()
        bulletin.register()
