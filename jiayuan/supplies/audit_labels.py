"""How the 操作记录 page reads the audit actions of supplies (``extensions.audit_labels``)."""

from django.utils.translation import gettext_lazy as _

from jiayuan.core import extensions

LABELS = {
    "supplies.leader_apply": _("申请成为团长"),
    "supplies.leader_approve": _("批准了团长"),
    "supplies.leader_reject": _("驳回了团长申请"),
    "supplies.leader_suspend": _("暂停了团长"),
    "supplies.leader_document_add": _("上传了团长证照"),
    "supplies.leader_document_view": _("查看了团长证照"),
    "supplies.settings_update": _("修改了物资设置"),
    "supplies.group_buy_propose": _("提交了团购方案"),
    "supplies.group_buy_select": _("选定了团购方案"),
    "supplies.group_buy_not_selected": _("落选了团购方案"),
    "supplies.group_buy_reject": _("驳回了团购"),
    "supplies.group_buy_cancel": _("取消了团购"),
    "supplies.group_buy_open": _("开始了团购接龙"),
    "supplies.group_buy_close": _("截止了团购接龙"),
    "supplies.group_buy_arrive": _("登记了团购到货"),
    "supplies.group_buy_disinfect": _("登记了到货消杀"),
    "supplies.group_buy_sort": _("完成了团购分拣"),
    "supplies.group_buy_deliver": _("送达了团购"),
    "supplies.vote_cast": _("投票选择了团购方案"),
    "supplies.order_place": _("下了团购订单"),
    "supplies.order_proxy": _("代住户下了团购订单"),
    "supplies.order_paid": _("登记了订单付款"),
    "supplies.order_unpaid": _("撤销了订单付款登记"),
    "supplies.order_cancel": _("取消了订单"),
    "supplies.building_deliver": _("送达了整栋楼的物资"),
    "supplies.complaint": _("登记了团购投诉"),
    "supplies.refund": _("登记了团购退款"),
    "supplies.sorting_export": _("导出了分拣表"),
    "supplies.checklist_export": _("导出了送货清单"),
    "supplies.campaign_create": _("创建了物资发放"),
    "supplies.handout_round_create": _("创建了发放批次"),
    "supplies.handout_receive": _("登记了住户领取"),
    "supplies.handout_undo": _("撤销了领取登记"),
    "supplies.donation_record": _("登记了捐赠"),
    "supplies.stock_issue": _("登记了物资出库"),
    "supplies.stock_threshold": _("修改了库存提醒线"),
    "supplies.window_create": _("添加了预约时段"),
    "supplies.booking_create": _("预约了紧缺物资"),
    "supplies.booking_collect": _("登记了预约领取"),
}


def register() -> None:
    extensions.audit_labels("supplies", _("团购物资"), LABELS)
