"""How the 操作记录 page reads the audit actions of operations (``extensions.audit_labels``)."""

from django.utils.translation import gettext_lazy as _

from jiayuan.core import extensions

LABELS = {
    "operations.settings_update": _("修改了巡查消杀设置"),
    "operations.patrol_start": _("开始了巡查"),
    "operations.patrol_end": _("结束了巡查"),
    "operations.finding_report": _("登记了巡查发现"),
    "operations.finding_photo_view": _("查看了巡查照片"),
    "operations.task_assign": _("分派了整改任务"),
    "operations.task_fix": _("完成了整改"),
    "operations.task_check": _("验收了整改"),
    "operations.task_returned": _("退回了整改"),
    "operations.point_create": _("新增了消杀点位"),
    "operations.point_update": _("修改了消杀点位"),
    "operations.disinfection_log": _("登记了消杀"),
    "operations.garbage_log": _("登记了垃圾清运"),
    "operations.case_report": _("登记了隐患或群租"),
    "operations.case_update": _("推进了隐患或群租案件"),
    "operations.case_register": _("为群租案件登记了居民"),
}


def register() -> None:
    extensions.audit_labels("operations", _("巡查消杀"), LABELS)
