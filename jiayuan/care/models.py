"""Care (民呼我应): resident requests with priority and follow-up, medicine errands and their runs,
medical trips (recurring treatment, 120 emergencies), visits to vulnerable residents, the
psychological support group, suggestions grouped into common issues.

Every row carries its ``neighbourhood`` (denormalised) and declares ``scope_fields``; requests
also carry the ``building`` of their household, so a building leader sees their buildings'.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiayuan.care.choices import (
    OPEN_STATUSES,
    Category,
    EmergencyOutcome,
    GroupRole,
    HandedOver,
    Priority,
    RunStatus,
    Source,
    Status,
    TreatmentKind,
    Urgency,
    VisitFinding,
    VisitMode,
)
from jiayuan.core.masking import mask_name
from jiayuan.places.models import Building, Household, Neighbourhood

USER = settings.AUTH_USER_MODEL

NEIGHBOURHOOD_SCOPE = {
    "street": "neighbourhood__street_id",
    "neighbourhood": "neighbourhood_id",
    "compound": lambda ids: models.Q(
        neighbourhood_id__in=Building.objects.filter(compound_id__in=ids).values("neighbourhood_id")
    ),
    "building": lambda ids: models.Q(
        neighbourhood_id__in=Building.objects.filter(id__in=ids).values("neighbourhood_id")
    ),
}


def building_scope(path: str = "building") -> dict:
    return {
        "street": "neighbourhood__street_id",
        "neighbourhood": "neighbourhood_id",
        "compound": f"{path}__compound_id",
        "building": f"{path}_id",
    }


def _default_visit_days() -> dict:
    return {"elderly_alone": 1, "elderly_no_family": 1, "disabled": 2, "bedridden": 1}


class CareSettings(models.Model):
    """Per-neighbourhood time limits and visit frequencies."""

    neighbourhood = models.OneToOneField(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.CASCADE, related_name="care_settings"
    )
    accept_emergency_minutes = models.PositiveIntegerField(_("紧急诉求受理时限(分钟)"), default=30)
    accept_today_minutes = models.PositiveIntegerField(_("当天诉求受理时限(分钟)"), default=120)
    accept_routine_minutes = models.PositiveIntegerField(_("一般诉求受理时限(分钟)"), default=24 * 60)
    done_emergency_hours = models.PositiveIntegerField(_("紧急诉求办结时限(小时)"), default=4)
    done_today_hours = models.PositiveIntegerField(_("当天诉求办结时限(小时)"), default=12)
    done_routine_hours = models.PositiveIntegerField(_("一般诉求办结时限(小时)"), default=72)
    visit_days = models.JSONField(_("走访频率(标签: 每几天一次)"), default=_default_visit_days)

    scope_fields = NEIGHBOURHOOD_SCOPE

    class Meta:
        verbose_name = _("民呼我应设置")
        verbose_name_plural = _("民呼我应设置")

    def __str__(self) -> str:
        return f"{self.neighbourhood} {self._meta.verbose_name}"

    def accept_minutes(self, urgency: str) -> int:
        return getattr(self, f"accept_{urgency}_minutes")

    def done_hours(self, urgency: str) -> int:
        return getattr(self, f"done_{urgency}_hours")


class SupportGroup(models.Model):
    """The psychological support group (1 party member, 2 professionals, 3 volunteers): only its
    members and the committee head read the content of psychological-support requests."""

    neighbourhood = models.OneToOneField(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.CASCADE, related_name="support_group"
    )
    name = models.CharField(_("名称"), max_length=100, default=_("心理支持小组"))
    hotline = models.CharField(_("24小时热线"), max_length=32, blank=True)

    scope_fields = NEIGHBOURHOOD_SCOPE

    class Meta:
        verbose_name = _("心理支持小组")
        verbose_name_plural = _("心理支持小组")

    def __str__(self) -> str:
        return str(self.name)


class SupportMember(models.Model):
    group = models.ForeignKey(SupportGroup, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(USER, verbose_name=_("成员"), on_delete=models.CASCADE, related_name="+")
    role = models.CharField(_("身份"), max_length=16, choices=GroupRole.choices, default=GroupRole.VOLUNTEER)

    class Meta:
        verbose_name = _("心理支持小组成员")
        verbose_name_plural = _("心理支持小组成员")
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="care_support_member_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()}"


class ErrandRun(models.Model):
    """One trip of one volunteer to one hospital or pharmacy for several medicine errands."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    hospital = models.CharField(_("医院/药店"), max_length=100)
    volunteer = models.ForeignKey(USER, verbose_name=_("跑腿人"), on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("日期"), default=timezone.localdate)
    status = models.CharField(_("状态"), max_length=16, choices=RunStatus.choices, default=RunStatus.PLANNED)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    scope_fields = NEIGHBOURHOOD_SCOPE

    class Meta:
        verbose_name = _("配药跑腿")
        verbose_name_plural = _("配药跑腿")
        ordering = ["-day", "-id"]

    def __str__(self) -> str:
        return f"{self.day} {self.hospital}"


class CareRequest(models.Model):
    """A resident's request (诉求): who it concerns, what, how urgent, who handles it, each step dated."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    building = models.ForeignKey(Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey(
        Household, verbose_name=_("住户"), on_delete=models.PROTECT, related_name="care_requests"
    )
    resident = models.ForeignKey(
        "people.Resident",
        verbose_name=_("居民"),
        on_delete=models.PROTECT,
        related_name="care_requests",
        null=True,
        blank=True,
    )
    category = models.CharField(_("类别"), max_length=24, choices=Category.choices)
    urgency = models.CharField(_("紧急程度"), max_length=16, choices=Urgency.choices, default=Urgency.ROUTINE)
    priority = models.CharField(_("优先级"), max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    priority_reasons = models.JSONField(_("优先原因"), default=list, blank=True)
    description = models.TextField(_("内容"), blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.NEW)
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices, default=Source.STAFF)
    assignee = models.ForeignKey(
        USER, verbose_name=_("负责人"), on_delete=models.PROTECT, related_name="care_requests", null=True, blank=True
    )
    team = models.ForeignKey(
        "volunteers.Team",
        verbose_name=_("负责队伍"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    errand_run = models.ForeignKey(
        ErrandRun, verbose_name=_("跑腿批次"), on_delete=models.SET_NULL, related_name="requests", null=True, blank=True
    )
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    due_at = models.DateTimeField(_("受理时限"))
    done_due_at = models.DateTimeField(_("办结时限"))
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    started_at = models.DateTimeField(_("开始办理时间"), null=True, blank=True)
    done_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    reopened_at = models.DateTimeField(_("重新打开时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    cost = models.DecimalField(_("费用(元)"), max_digits=9, decimal_places=2, null=True, blank=True)
    paid = models.BooleanField(_("已结清"), default=False)
    idempotency_key = models.CharField(max_length=200, blank=True, editable=False)

    scope_fields = building_scope()

    class Meta:
        verbose_name = _("居民诉求")
        verbose_name_plural = _("居民诉求")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["neighbourhood", "status"], name="care_req_nb_status_idx"),
            models.Index(fields=["building", "status"], name="care_req_bld_status_idx"),
            models.Index(fields=["assignee", "status"], name="care_req_assignee_idx"),
            models.Index(fields=["household", "status"], name="care_req_household_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["household", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="care_req_unique_key",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_category_display()}"

    def audit_repr(self) -> str:
        who = mask_name(self.resident.name) if self.resident_id else str(self.household)
        return f"#{self.pk} {self.get_category_display()} {who}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_psychological(self) -> bool:
        return self.category == Category.PSYCHOLOGICAL

    @property
    def deadline(self):
        """The time limit that applies now: accepting while new, finishing while being handled."""
        if self.status == Status.NEW:
            return self.due_at
        if self.status in OPEN_STATUSES:
            return self.done_due_at
        return None

    def overdue_at(self, now=None) -> bool:
        deadline = self.deadline
        return deadline is not None and deadline < (now or timezone.now())

    @property
    def is_overdue(self) -> bool:
        return self.overdue_at()


class RequestEvent(models.Model):
    """One dated step of a request (created, accepted, done, confirmed, reopened, assigned)."""

    request = models.ForeignKey(CareRequest, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices)
    note = models.TextField(_("说明"), blank=True)
    actor = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    actor_label = models.CharField(_("操作人"), max_length=150, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("诉求进展")
        verbose_name_plural = _("诉求进展")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_status_display()} {self.at:%m-%d %H:%M}"


class ErrandItem(models.Model):
    """One medicine of a medicine errand (代配药)."""

    request = models.ForeignKey(CareRequest, on_delete=models.CASCADE, related_name="errand_items")
    name = models.CharField(_("药品"), max_length=100)
    quantity = models.CharField(_("数量"), max_length=40)
    hospital = models.CharField(_("医院/药店"), max_length=100)
    handed_over = models.CharField(
        _("交给跑腿人的凭证"), max_length=16, choices=HandedOver.choices, default=HandedOver.NONE
    )

    class Meta:
        verbose_name = _("配药清单")
        verbose_name_plural = _("配药清单")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} ×{self.quantity}"


class TreatmentSchedule(models.Model):
    """Recurring treatment (dialysis three times a week, chemotherapy) with transport and escort."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    building = models.ForeignKey(Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="+")
    resident = models.ForeignKey("people.Resident", verbose_name=_("居民"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("治疗"), max_length=16, choices=TreatmentKind.choices, default=TreatmentKind.DIALYSIS)
    hospital = models.CharField(_("医院"), max_length=100)
    weekdays = models.JSONField(_("每周几(1=周一)"), default=list)
    time = models.TimeField(_("出发时间"))
    transport = models.CharField(_("交通"), max_length=100, blank=True)
    escort = models.ForeignKey(
        USER, verbose_name=_("陪同"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    pass_note = models.CharField(_("出行证明"), max_length=200, blank=True)
    active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    scope_fields = building_scope()

    class Meta:
        verbose_name = _("定期就医安排")
        verbose_name_plural = _("定期就医安排")
        ordering = ["time", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.hospital}"

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {mask_name(self.resident.name)}"

    @property
    def weekdays_label(self) -> str:
        names = "一二三四五六日"
        return "、".join(f"周{names[d - 1]}" for d in sorted(self.weekdays) if 1 <= d <= 7)


class EmergencyCall(models.Model):
    """A 120 emergency logged with its outcome."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    building = models.ForeignKey(Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="+")
    resident = models.ForeignKey("people.Resident", verbose_name=_("居民"), on_delete=models.PROTECT, related_name="+")
    called_at = models.DateTimeField(_("呼叫时间"), default=timezone.now)
    reason = models.CharField(_("情况"), max_length=200)
    hospital = models.CharField(_("送往医院"), max_length=100, blank=True)
    outcome = models.CharField(
        _("结果"), max_length=16, choices=EmergencyOutcome.choices, default=EmergencyOutcome.PENDING
    )
    outcome_note = models.CharField(_("结果说明"), max_length=200, blank=True)
    logged_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", null=True, blank=True)

    scope_fields = building_scope()

    class Meta:
        verbose_name = _("120急救")
        verbose_name_plural = _("120急救")
        ordering = ["-called_at", "-id"]

    def __str__(self) -> str:
        return f"120 {self.called_at:%m-%d %H:%M}"

    def audit_repr(self) -> str:
        return f"#{self.pk} 120 {mask_name(self.resident.name)}"


class VisitPlan(models.Model):
    """Regular checks on one vulnerable resident: every ``every_days`` days, by ``visitor``."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    building = models.ForeignKey(Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="+")
    resident = models.ForeignKey(
        "people.Resident", verbose_name=_("居民"), on_delete=models.CASCADE, related_name="care_visit_plans"
    )
    tag = models.CharField(_("标签"), max_length=32)
    every_days = models.PositiveSmallIntegerField(_("每几天一次"), default=1)
    mode = models.CharField(_("方式"), max_length=8, choices=VisitMode.choices, default=VisitMode.PHONE)
    visitor = models.ForeignKey(
        USER, verbose_name=_("走访人"), on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    active = models.BooleanField(_("有效"), default=True)
    last_visit_at = models.DateTimeField(_("上次走访"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    scope_fields = building_scope()

    class Meta:
        verbose_name = _("走访计划")
        verbose_name_plural = _("走访计划")
        ordering = ["building_id", "id"]
        constraints = [models.UniqueConstraint(fields=["resident"], name="care_visit_plan_one_per_resident")]

    def __str__(self) -> str:
        return f"{self.resident} / {self.every_days}"

    def audit_repr(self) -> str:
        return f"#{self.pk} {mask_name(self.resident.name)}"

    def next_due(self):
        """The day by which the next check is due."""
        import datetime as dt

        base = timezone.localdate(self.last_visit_at) if self.last_visit_at else timezone.localdate(self.created_at)
        return base + dt.timedelta(days=self.every_days)


class Visit(models.Model):
    plan = models.ForeignKey(VisitPlan, on_delete=models.CASCADE, related_name="visits")
    visitor = models.ForeignKey(USER, verbose_name=_("走访人"), on_delete=models.PROTECT, related_name="+", null=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)
    mode = models.CharField(_("方式"), max_length=8, choices=VisitMode.choices, default=VisitMode.PHONE)
    finding = models.CharField(_("情况"), max_length=16, choices=VisitFinding.choices, default=VisitFinding.OK)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    request = models.ForeignKey(CareRequest, on_delete=models.SET_NULL, related_name="+", null=True, blank=True)

    class Meta:
        verbose_name = _("走访记录")
        verbose_name_plural = _("走访记录")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_finding_display()} {self.at:%m-%d}"


class SuggestionGroup(models.Model):
    """Suggestions that say the same thing (a common issue, 共性问题): one reply reaches them all."""

    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    summary = models.CharField(_("典型说法"), max_length=200)
    title = models.CharField(_("共性问题"), max_length=200, blank=True)
    merged_at = models.DateTimeField(_("归并时间"), null=True, blank=True)
    reply = models.TextField(_("答复"), blank=True)
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    replied_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    scope_fields = NEIGHBOURHOOD_SCOPE

    class Meta:
        verbose_name = _("意见分组")
        verbose_name_plural = _("意见分组")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.title or self.summary

    def audit_repr(self) -> str:
        return f"#{self.pk} {str(self)[:60]}"


class Suggestion(models.Model):
    neighbourhood = models.ForeignKey(
        Neighbourhood, verbose_name=_("居民区"), on_delete=models.PROTECT, related_name="+"
    )
    household = models.ForeignKey(
        Household, verbose_name=_("住户"), on_delete=models.PROTECT, related_name="care_suggestions"
    )
    resident = models.ForeignKey(
        "people.Resident", verbose_name=_("居民"), on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    text = models.CharField(_("意见"), max_length=500)
    group = models.ForeignKey(
        SuggestionGroup, verbose_name=_("分组"), on_delete=models.PROTECT, related_name="suggestions"
    )
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    created_at = models.DateTimeField(_("提交时间"), default=timezone.now)

    scope_fields = NEIGHBOURHOOD_SCOPE

    class Meta:
        verbose_name = _("居民意见")
        verbose_name_plural = _("居民意见")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.text[:40]

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.text[:40]}"
