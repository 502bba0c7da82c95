from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlacesConfig(AppConfig):
    name = "jiayuan.places"
    label = "places"
    verbose_name = _("地点")

    def ready(self) -> None:
        from jiayuan.places import audit_labels

        audit_labels.register()
