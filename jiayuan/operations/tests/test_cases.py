"""Group-rental (群租) and hazard cases: reported → inspected → action → rectified → closed;
occupants who stay are registered as residents through the people app; audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from jiayuan.core.models import AuditEvent
from jiayuan.operations import services
from jiayuan.operations.choices import CaseKind, CaseStatus
from jiayuan.people.choices import Residency
from jiayuan.people.models import Resident


def test_group_rental_lifecycle_and_an_occupant_registered(staff, household):
    case = services.case_report(actor=staff, household=household, reported_by="邻居来电")
    with pytest.raises(ValidationError):
        services.case_advance(actor=staff, case=case, status=CaseStatus.ACTION, action_note="跳步")
    with pytest.raises(ValidationError):
        services.case_advance(actor=staff, case=case, status=CaseStatus.INSPECTED)  # beds and occupants needed
    case = services.case_advance(actor=staff, case=case, status=CaseStatus.INSPECTED, beds=8, occupants=10)
    case = services.case_advance(
        actor=staff, case=case, status=CaseStatus.ACTION, action_note="会同街道、派出所联合执法"
    )
    with pytest.raises(ValidationError):
        services.case_advance(actor=staff, case=case, status=CaseStatus.RECTIFIED, beds_removed=9)
    case = services.case_advance(actor=staff, case=case, status=CaseStatus.RECTIFIED, beds_removed=6, moved_out=7)
    resident = services.case_register_occupant(actor=staff, case=case, name="赵留住", phone="13800001111")
    assert resident.household == household and resident.residency == Residency.TENANT
    assert Resident.objects.filter(household=household, name="赵留住").exists()
    case.refresh_from_db()
    assert case.registered == 1
    case = services.case_advance(actor=staff, case=case, status=CaseStatus.CLOSED)
    assert case.status == CaseStatus.CLOSED
    with pytest.raises(ValidationError):
        services.case_register_occupant(actor=staff, case=case, name="钱")
    actions = list(
        AuditEvent.objects.filter(object_type="operations.rentalcase", object_id=str(case.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["operations.case_report"] + ["operations.case_update"] * 3 + [
        "operations.case_register",
        "operations.case_update",
    ]


def test_a_hazard_may_skip_joint_enforcement(staff, household):
    case = services.case_report(actor=staff, household=household, kind=CaseKind.HAZARD, description="楼道堆物")
    services.case_advance(actor=staff, case=case, status=CaseStatus.INSPECTED, beds=0, occupants=3)
    case = services.case_advance(actor=staff, case=case, status=CaseStatus.RECTIFIED)
    assert case.status == CaseStatus.RECTIFIED
