"""How the 操作记录 page reads the audit actions of people (``extensions.audit_labels``)."""

from django.utils.translation import gettext_lazy as _

from jiayuan.core import extensions

LABELS = {
    "resident.create": _("登记了居民"),
    "resident.update": _("修改了居民信息"),
    "resident.delete": _("删除了居民"),
    "resident.reveal": _("查看了完整的证件号或电话"),
    "roster.import": _("导入了居民名册"),
    "roster_import.upload": _("上传了名册文件"),
    "roster_import.restart": _("重新检查了名册文件"),
    "roster_import.interrupted": _("发现名册导入已中断"),
    "roster.export": _("导出了居民名册"),
    "roster.export_unmasked": _("导出了未遮挡的居民名册"),
    "demo.load": _("载入了演示数据"),
}


def register() -> None:
    extensions.audit_labels("people", _("居民名册"), LABELS)
