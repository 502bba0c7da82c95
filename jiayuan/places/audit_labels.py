"""How the 操作记录 page reads the audit actions of places (``extensions.audit_labels``)."""

from django.utils.translation import gettext_lazy as _

from jiayuan.core import extensions

LABELS = {
    "street.create": _("添加了街道"),
    "neighbourhood.create": _("添加了居民区"),
    "compound.create": _("添加了小区"),
    "building.create": _("添加了楼栋"),
    "household.create": _("添加了住户"),
}


def register() -> None:
    extensions.audit_labels("places", _("楼栋与住户"), LABELS)
