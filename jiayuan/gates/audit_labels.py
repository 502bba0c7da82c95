"""How the 操作记录 page reads the audit actions of gates (``extensions.audit_labels``)."""

from django.utils.translation import gettext_lazy as _

from jiayuan.core import extensions

LABELS = {
    "gates.settings_update": _("修改了门岗设置"),
    "gates.gate_create": _("添加了门岗"),
    "gates.gate_state": _("变更了门岗状态"),
    "gates.passage": _("登记了门岗出入"),
    "gates.pass_issue": _("发放了通行证"),
    "gates.pass_revoke": _("作废了通行证"),
    "gates.parcel_register": _("登记了快递外卖"),
    "gates.parcel_disinfect": _("登记了快递消杀"),
    "gates.parcel_deliver": _("将快递送到了门口"),
    "gates.parcel_pickup": _("登记了快递自取"),
    "gates.passages_export": _("导出了出入记录"),
}


def register() -> None:
    extensions.audit_labels("gates", _("门岗"), LABELS)
