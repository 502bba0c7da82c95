"""How the 操作记录 page reads the audit actions of care (``extensions.audit_labels``)."""

from django.utils.translation import gettext_lazy as _

from jiayuan.core import extensions

LABELS = {
    "care.request_create": _("登记了居民诉求"),
    "care.request_accept": _("受理了居民诉求"),
    "care.request_start": _("开始办理居民诉求"),
    "care.request_done": _("办结了居民诉求"),
    "care.request_confirm": _("确认了诉求已办好"),
    "care.request_reopen": _("重新打开了诉求"),
    "care.request_cancel": _("撤销了居民诉求"),
    "care.request_assign": _("分派了居民诉求"),
    "care.request_view_confidential": _("查看了心理支持诉求内容"),
    "care.support_member_add": _("加入心理支持小组成员"),
    "care.support_member_remove": _("移出心理支持小组成员"),
    "care.errand_item_add": _("添加了代配药药品"),
    "care.errand_cost": _("登记了代配药费用"),
    "care.errand_run_create": _("安排了配药跑腿批次"),
    "care.errand_run_done": _("完成了配药跑腿批次"),
    "care.errand_run_export": _("导出了取药清单"),
    "care.schedule_create": _("登记了定期就医安排"),
    "care.emergency_log": _("登记了120急救"),
    "care.emergency_outcome": _("登记了120急救结果"),
    "care.visit_plans_sync": _("生成了走访计划"),
    "care.visit_plan_update": _("修改了走访计划"),
    "care.visit_record": _("登记了走访"),
    "care.suggestion_submit": _("提交了意见建议"),
    "care.suggestion_merge": _("归并了共性问题"),
    "care.suggestion_reply": _("答复了共性问题"),
    "care.settings_update": _("修改了民呼我应设置"),
}


def register() -> None:
    extensions.audit_labels("care", _("民呼我应"), LABELS)
