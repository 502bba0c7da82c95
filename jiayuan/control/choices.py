from django.db import models
from django.utils.translation import gettext_lazy as _


class ZoneLevel(models.TextChoices):
    """The 2022 Shanghai three zones (三区). Read by screening, supplies and gates."""

    SEALED = "sealed", _("封控区")
    CONTROLLED = "controlled", _("管控区")
    PRECAUTION = "precaution", _("防范区")
