"""How the 操作记录 page reads the audit actions of volunteers (``extensions.audit_labels``)."""

from django.utils.translation import gettext_lazy as _

from jiayuan.core import extensions

LABELS = {
    "volunteer.create": _("登记了志愿者"),
    "volunteer.apply": _("申请成为志愿者"),
    "volunteer.update": _("修改了志愿者信息"),
    "volunteer.status": _("修改了志愿者状态"),
    "volunteer.link_user": _("关联了志愿者登录账号"),
    "volunteer.reveal": _("查看了志愿者完整电话"),
    "volunteer.team_create": _("新建了志愿者队伍"),
    "volunteer.team_update": _("修改了志愿者队伍"),
    "volunteer.team_join": _("将志愿者加入队伍"),
    "volunteer.team_leader": _("设置了队长"),
    "volunteer.team_leave": _("将志愿者移出队伍"),
    "volunteer.shift_create": _("新建了班次"),
    "volunteer.shift_update": _("修改了班次"),
    "volunteer.shift_cancel": _("取消了班次"),
    "volunteer.shift_assign": _("安排了志愿者值班"),
    "volunteer.shift_claim": _("认领了班次"),
    "volunteer.shift_unassign": _("取消了值班安排"),
    "volunteer.check_in": _("登记了志愿者签到"),
    "volunteer.check_out": _("登记了志愿者签退"),
    "volunteer.no_show": _("标记了志愿者未到岗"),
    "volunteer.hours_export": _("导出了志愿服务时长"),
    "volunteer.certificate": _("开具了志愿服务证明"),
}


def register() -> None:
    extensions.audit_labels("volunteers", _("志愿者"), LABELS)
