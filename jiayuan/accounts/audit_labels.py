"""How the 操作记录 page reads the audit actions of accounts (``extensions.audit_labels``)."""

from django.utils.translation import gettext_lazy as _

from jiayuan.core import extensions

LABELS = {
    "user.create": _("添加了成员"),
    "user.deactivate": _("停用了成员"),
    "user.password_change": _("修改了密码"),
    "user.password_reset": _("重置了成员的密码"),
    "user.login_failed": _("登录失败(密码错误或无此用户)"),
    "user.login_throttled": _("登录被拒(失败次数过多, 暂时锁定)"),
    "user.otp_enrol": _("开启了两步验证"),
    "user.otp_remove": _("关闭了两步验证"),
    "user.otp_backup_codes": _("重新生成了备用码"),
    "user.otp_failed": _("两步验证码错误"),
    "user.otp_reset": _("重置了成员的两步验证"),
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
