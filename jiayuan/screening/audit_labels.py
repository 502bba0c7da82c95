"""How the 操作记录 page reads the audit actions of screening (``extensions.audit_labels``)."""

from django.utils.translation import gettext_lazy as _

from jiayuan.core import extensions

LABELS = {
    "screening.round_create": _("创建了核酸轮次"),
    "screening.round_finish": _("结束了核酸轮次"),
    "screening.station_create": _("添加了采样点"),
    "screening.station_delete": _("删除了采样点"),
    "screening.plan_generate": _("生成了分时段采样计划"),
    "screening.sample": _("登记了核酸采样"),
    "screening.sample_undo": _("撤销了刚扫的核酸采样"),
    "screening.tube_open": _("开启了采样管"),
    "screening.tube_close": _("封存了采样管"),
    "screening.tube_result": _("登记了采样管结果"),
    "screening.results_preview": _("检查了检测结果文件"),
    "screening.results_import": _("导入了检测结果"),
    "screening.retest_list": _("生成了复核名单"),
    "screening.retest_result": _("登记了复核结果"),
    "screening.missed_export": _("导出了未检名单"),
    "screening.exemption_add": _("登记了免检"),
    "screening.exemption_remove": _("取消了免检"),
    "screening.antigen_report": _("上报了抗原结果"),
    "screening.antigen_report_update": _("修改了抗原结果"),
    "screening.antigen_photo_view": _("查看了抗原照片"),
    "screening.antigen_confirm": _("确认了抗原阳性"),
    "demo.screening": _("载入了演示核酸数据"),
}


def register() -> None:
    extensions.audit_labels("screening", _("核酸筛查"), LABELS)
