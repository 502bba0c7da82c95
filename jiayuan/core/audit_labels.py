"""How the 操作记录 page reads the audit actions of the core app (``extensions.audit_labels``)."""

from django.utils.translation import gettext_lazy as _

from jiayuan.core import extensions

LABELS = {
    "crypto.rotate_keys": _("更换了加密密钥"),
    "retention.purge": _("按保存期限清除了数据"),
}


def register() -> None:
    extensions.audit_labels("core", _("系统"), LABELS)
