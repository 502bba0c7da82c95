"""How the 操作记录 page reads the audit actions of control (``extensions.audit_labels``)."""

from django.utils.translation import gettext_lazy as _

from jiayuan.core import extensions

LABELS = {
    "case.create": _("登记了病例"),
    "case.update": _("修改了病例"),
    "case.transition": _("变更了病例状态"),
    "case.void": _("作废了病例"),
    "contact.create": _("登记了密切接触者"),
    "health_check.record": _("登记了健康监测"),
    "policy.update": _("修改了防控政策"),
    "policy.apply_preset": _("套用了防控政策模板"),
    "policy.hotline": _("修改了居委会联系电话"),
    "quarantine.start": _("开始了隔离"),
    "quarantine.test": _("登记了隔离期检测"),
    "quarantine.transfer": _("转运了隔离人员"),
    "quarantine.release": _("解除了隔离"),
    "quarantine.release_early": _("提前解除了隔离"),
    "returnee.register": _("登记了返回人员"),
    "zone.recompute": _("重新划定了管控区域"),
    "zone.override": _("手动设定了管控等级"),
    "zone.override_end": _("结束了手动管控等级"),
    "zone.override_expire": _("手动管控等级到期"),
    "zone.settings": _("修改了区域划分设置"),
}


def register() -> None:
    extensions.audit_labels("control", _("防控"), LABELS)
