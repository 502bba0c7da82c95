"""How the 操作记录 page reads the audit actions of accounts (``extensions.audit_labels``)."""

from django.utils.translation import gettext_lazy as _

from jiayuan.core import extensions

LABELS = {
    "user.create": _("添加了成员"),
    "user.deactivate": _("停用了成员"),
    "user.password_change": _("修改了密码"),
    "user.password_reset": _("重置了成员的密码"),
    "assignment.grant": _("授予了角色"),
    "assignment.update": _("修改了角色授权"),
    "assignment.revoke": _("撤销了角色"),
    "api_token.create": _("创建了接口令牌"),
    "household_link.issue": _("发放了住户链接"),
    "household_link.print": _("打印了住户二维码"),
    "household_link.revoke": _("作废了住户链接"),
}


def register() -> None:
    extensions.audit_labels("accounts", _("账号与团队"), LABELS)
