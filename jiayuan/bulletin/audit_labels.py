"""How the 操作记录 page reads the audit actions of the bulletin app (``extensions.audit_labels``)."""

from django.utils.translation import gettext_lazy as _

from jiayuan.core import extensions

LABELS = {
    "bulletin.compose": _("汇总了日报草稿"),
    "bulletin.publish": _("发布了日报"),
    "bulletin.notice_create": _("发布了通知"),
    "bulletin.notice_read": _("阅读了通知"),
}


def register() -> None:
    extensions.audit_labels("bulletin", _("日报与通知"), LABELS)
