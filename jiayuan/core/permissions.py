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


A = Action
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
        }
    ),
    Role.OWNERS_COMMITTEE: frozenset({A.VIEW_COUNTS, A.VIEW_ROSTER}),
    Role.PROPERTY_STAFF: frozenset({A.VIEW_COUNTS, A.VIEW_ROSTER}),
    Role.GATE_GUARD: frozenset({A.VIEW_COUNTS, A.VIEW_ROSTER}),
    Role.BUILDING_LEADER: frozenset(
        {A.VIEW_COUNTS, A.VIEW_ROSTER, A.CHANGE_RESIDENT, A.REVEAL_PII, A.EXPORT_ROSTER, A.MANAGE_HOUSEHOLD_LINKS}
    ),
    Role.VOLUNTEER: frozenset({A.VIEW_COUNTS, A.VIEW_ROSTER}),
    Role.SAMPLER: frozenset({A.VIEW_COUNTS, A.VIEW_ROSTER}),
    # Street and district officers see aggregates, never names (ARCHITECTURE.md, personal data).
    Role.STREET_OFFICER: frozenset({A.VIEW_COUNTS}),
}


def role_can(role: str, action: str) -> bool:
    return action in ROLE_ACTIONS.get(role, frozenset())
