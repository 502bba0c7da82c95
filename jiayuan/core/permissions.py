"""The permission matrix: which role may do what. ``docs/permissions.md`` is written from this.

A role alone grants nothing: an *assignment* grants a role over a scope (street, neighbourhood,
compound or building), and ``jiayuan.core.scoping.restrict`` turns a user's assignments into a
query filter for one action.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COMMITTEE_HEAD = "committee_head", _("居委会书记/主任")
    COMMITTEE_STAFF = "committee_staff", _("居委会工作人员")
    OWNERS_COMMITTEE = "owners_committee", _("业委会成员")
    PROPERTY_STAFF = "property_staff", _("物业工作人员")
    GATE_GUARD = "gate_guard", _("门岗保安")
    BUILDING_LEADER = "building_leader", _("楼组长")
    VOLUNTEER = "volunteer", _("志愿者")
    SAMPLER = "sampler", _("采样人员")
    STREET_OFFICER = "street_officer", _("街道工作人员")


class Action(models.TextChoices):
    VIEW_COUNTS = "view_counts", _("查看统计数字")
    VIEW_ROSTER = "view_roster", _("查看居民名单")
    CHANGE_RESIDENT = "change_resident", _("新增/修改居民")
    REVEAL_PII = "reveal_pii", _("查看完整证件号/电话")
    IMPORT_ROSTER = "import_roster", _("导入名单")
    EXPORT_ROSTER = "export_roster", _("导出名单(脱敏)")
    EXPORT_ROSTER_UNMASKED = "export_roster_unmasked", _("导出名单(不脱敏)")
    MANAGE_HOUSEHOLD_LINKS = "manage_household_links", _("管理住户链接")
    VIEW_AUDIT = "view_audit", _("查看审计日志")
    MANAGE_TEAM = "manage_team", _("添加工作人员、授权与收回、重置密码")
    # Screening (核酸/抗原筛查)
    VIEW_SCREENING = "view_screening", _("查看筛查进度与漏测名单")
    MANAGE_ROUNDS = "manage_rounds", _("安排检测轮次与采样计划")
    SAMPLE = "sample", _("采样扫码")
    ENTER_RESULTS = "enter_results", _("录入/导入检测结果")
    REPORT_ANTIGEN = "report_antigen", _("代报抗原结果")
    # Epidemic control (病例、隔离、分区)
    VIEW_ZONES = "view_zones", _("查看分区状态与汇总(不含姓名)")
    VIEW_CONTROL = "view_control", _("查看病例、密接、隔离与健康监测名单")
    MANAGE_CASES = "manage_cases", _("登记病例与密接")
    MANAGE_QUARANTINE = "manage_quarantine", _("管理隔离、返沪登记与解除")
    RECORD_HEALTH_CHECK = "record_health_check", _("代录健康监测")
    MANAGE_POLICY = "manage_policy", _("修改防疫政策与分区设置")
    OVERRIDE_ZONE = "override_zone", _("人工调整分区等级")
    # Supplies (团购、分发、捐赠、预约)
    VIEW_SUPPLIES = "view_supplies", _("查看团购与物资")
    REVIEW_LEADERS = "review_leaders", _("审核团长资质")
    MANAGE_GROUP_BUYS = "manage_group_buys", _("管理团购(比价、选定、截单)")
    PROXY_ORDER = "proxy_order", _("代老人下单")
    RECEIVE_GOODS = "receive_goods", _("到货登记、消杀与放行")
    DELIVER_GOODS = "deliver_goods", _("分拣与送货上门")
    MANAGE_HANDOUTS = "manage_handouts", _("管理发放、捐赠与库存")
    MANAGE_APPOINTMENTS = "manage_appointments", _("管理稀缺物资预约")
    # Volunteers (志愿者、队伍、排班)
    VIEW_VOLUNTEERS = "view_volunteers", _("查看志愿者、队伍与值班表")
    MANAGE_VOLUNTEERS = "manage_volunteers", _("审核志愿者、管理队伍")
    MANAGE_SHIFTS = "manage_shifts", _("排班、代签到签退")
    # Daily operations (巡查、消杀、垃圾清运、隐患与群租)
    VIEW_OPERATIONS = "view_operations", _("查看巡查、消杀、垃圾清运与整改任务")
    RECORD_OPERATIONS = "record_operations", _("登记巡查发现、消杀与垃圾清运")
    MANAGE_TASKS = "manage_tasks", _("分派、整改与验收任务")
    MANAGE_RENTALS = "manage_rentals", _("隐患排查与群租整治")
    # Gates (门岗)
    VIEW_GATES = "view_gates", _("查看门岗通行记录与统计")
    PASS_GATE = "pass_gate", _("门岗扫码通行、访客与车辆登记")
    MANAGE_GATES = "manage_gates", _("开关门岗、发放通行证")
    HANDLE_PARCELS = "handle_parcels", _("快递外卖登记、消杀与送达")
    # Care (民呼我应、关爱)
    VIEW_REQUESTS = "view_requests", _("查看居民诉求")
    HANDLE_REQUESTS = "handle_requests", _("登记、受理与办理居民诉求")
    MANAGE_CARE = "manage_care", _("管理走访计划、就医安排与心理支持小组")
    MANAGE_SUGGESTIONS = "manage_suggestions", _("归并与答复居民意见")
    # Bulletin (日报、通知、趋势与汇总)
    EDIT_BULLETIN = "edit_bulletin", _("编辑与发布每日日报")
    MANAGE_NOTICES = "manage_notices", _("发布通知、倡议书与居民公约")


A = Action

_SCREENING_STAFF = {A.VIEW_SCREENING, A.MANAGE_ROUNDS, A.SAMPLE, A.ENTER_RESULTS, A.REPORT_ANTIGEN}
_CONTROL_STAFF = {
    A.VIEW_ZONES,
    A.VIEW_CONTROL,
    A.MANAGE_CASES,
    A.MANAGE_QUARANTINE,
    A.RECORD_HEALTH_CHECK,
}
_SUPPLIES_STAFF = {
    A.VIEW_SUPPLIES,
    A.REVIEW_LEADERS,
    A.MANAGE_GROUP_BUYS,
    A.PROXY_ORDER,
    A.RECEIVE_GOODS,
    A.DELIVER_GOODS,
    A.MANAGE_HANDOUTS,
    A.MANAGE_APPOINTMENTS,
}
_VOLUNTEERS_STAFF = {A.VIEW_VOLUNTEERS, A.MANAGE_VOLUNTEERS, A.MANAGE_SHIFTS}
_OPERATIONS_STAFF = {A.VIEW_OPERATIONS, A.RECORD_OPERATIONS, A.MANAGE_TASKS, A.MANAGE_RENTALS}
_GATES_STAFF = {A.VIEW_GATES, A.PASS_GATE, A.MANAGE_GATES, A.HANDLE_PARCELS}
_CARE_STAFF = {A.VIEW_REQUESTS, A.HANDLE_REQUESTS, A.MANAGE_CARE, A.MANAGE_SUGGESTIONS}
_BULLETIN_STAFF = {A.EDIT_BULLETIN, A.MANAGE_NOTICES}

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.COMMITTEE_HEAD: frozenset(Action.values),
    Role.COMMITTEE_STAFF: frozenset(
        {
            A.VIEW_COUNTS,
            A.VIEW_ROSTER,
            A.CHANGE_RESIDENT,
            A.REVEAL_PII,
            A.IMPORT_ROSTER,
            A.EXPORT_ROSTER,
            A.MANAGE_HOUSEHOLD_LINKS,
            *_SCREENING_STAFF,
            *_CONTROL_STAFF,
            *_SUPPLIES_STAFF,
            *_VOLUNTEERS_STAFF,
            *_OPERATIONS_STAFF,
            *_GATES_STAFF,
            *_CARE_STAFF,
            *_BULLETIN_STAFF,
        }
    ),
    # The owners' committee vets group-buy leaders with the committee (the 2022 rule).
    Role.OWNERS_COMMITTEE: frozenset(
        {
            A.VIEW_COUNTS,
            A.VIEW_ROSTER,
            A.VIEW_ZONES,
            A.VIEW_SUPPLIES,
            A.REVIEW_LEADERS,
            A.MANAGE_GROUP_BUYS,
            # The owners' committee runs the patrol team and checks the property company's work.
            A.VIEW_VOLUNTEERS,
            A.VIEW_OPERATIONS,
            A.RECORD_OPERATIONS,
            A.MANAGE_TASKS,
            A.VIEW_GATES,
            A.EDIT_BULLETIN,
            A.MANAGE_NOTICES,
        }
    ),
    Role.PROPERTY_STAFF: frozenset(
        {
            A.VIEW_COUNTS,
            A.VIEW_ROSTER,
            A.VIEW_ZONES,
            A.VIEW_SUPPLIES,
            A.RECEIVE_GOODS,
            A.DELIVER_GOODS,
            A.MANAGE_HANDOUTS,
            A.VIEW_OPERATIONS,
            A.RECORD_OPERATIONS,
            A.MANAGE_TASKS,
            A.VIEW_GATES,
            A.PASS_GATE,
            A.MANAGE_GATES,
            A.HANDLE_PARCELS,
        }
    ),
    Role.GATE_GUARD: frozenset(
        {
            A.VIEW_COUNTS,
            A.VIEW_ROSTER,
            A.VIEW_ZONES,
            A.VIEW_SUPPLIES,
            A.RECEIVE_GOODS,
            A.VIEW_GATES,
            A.PASS_GATE,
            A.HANDLE_PARCELS,
        }
    ),
    Role.BUILDING_LEADER: frozenset(
        {
            A.VIEW_COUNTS,
            A.VIEW_ROSTER,
            A.CHANGE_RESIDENT,
            A.REVEAL_PII,
            A.EXPORT_ROSTER,
            A.MANAGE_HOUSEHOLD_LINKS,
            A.VIEW_SCREENING,
            A.REPORT_ANTIGEN,
            A.VIEW_ZONES,
            A.VIEW_CONTROL,
            A.RECORD_HEALTH_CHECK,
            A.VIEW_SUPPLIES,
            A.PROXY_ORDER,
            A.DELIVER_GOODS,
            A.VIEW_VOLUNTEERS,
            A.VIEW_OPERATIONS,
            A.RECORD_OPERATIONS,
            A.VIEW_REQUESTS,
            A.HANDLE_REQUESTS,
            A.HANDLE_PARCELS,
        }
    ),
    # A volunteer who leads a team manages that team's shifts through the team's leaders, not a role.
    Role.VOLUNTEER: frozenset(
        {
            A.VIEW_COUNTS,
            A.VIEW_ROSTER,
            A.VIEW_SCREENING,
            A.VIEW_ZONES,
            A.VIEW_SUPPLIES,
            A.DELIVER_GOODS,
            A.VIEW_VOLUNTEERS,
            A.RECORD_OPERATIONS,
            A.VIEW_REQUESTS,
            A.HANDLE_REQUESTS,
            A.HANDLE_PARCELS,
        }
    ),
    Role.SAMPLER: frozenset({A.VIEW_COUNTS, A.VIEW_ROSTER, A.VIEW_SCREENING, A.SAMPLE, A.VIEW_ZONES}),
    # Street and district officers see aggregates, never names (ARCHITECTURE.md, personal data).
    Role.STREET_OFFICER: frozenset({A.VIEW_COUNTS, A.VIEW_ZONES}),
}


def role_can(role: str, action: str) -> bool:
    return action in ROLE_ACTIONS.get(role, frozenset())
