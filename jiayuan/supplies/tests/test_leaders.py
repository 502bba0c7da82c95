"""Group-buy leaders: application with documents, review, suspension on expiry."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from jiayuan.core.models import AuditEvent
from jiayuan.supplies import services
from jiayuan.supplies.choices import LeaderStatus
from jiayuan.supplies.models import GroupBuyLeader
from jiayuan.supplies.tests.conftest import docs

pytestmark = pytest.mark.django_db


def test_application_needs_both_documents(head, household):
    with pytest.raises(ValidationError) as exc:
        services.leader_apply(actor=head, household=household, name="李", channel="盒马", documents=docs()[:1])
    assert "licence_file" in exc.value.message_dict


def test_application_rejects_a_file_that_is_not_an_image_or_pdf(head, household):
    bad = docs()
    bad[0]["data"] = b"MZ\x90\x00 not an image"
    with pytest.raises(ValidationError) as exc:
        services.leader_apply(actor=head, household=household, name="李", channel="盒马", documents=bad)
    assert "只接受" in exc.value.message_dict["permit_file"][0]
    assert not GroupBuyLeader.objects.exists()


def test_application_rejects_a_file_over_5_mb(head, household):
    big = docs()
    big[1]["data"] = b"%PDF-" + b"0" * (5 * 1024 * 1024)
    with pytest.raises(ValidationError) as exc:
        services.leader_apply(actor=head, household=household, name="李", channel="盒马", documents=big)
    assert "过大" in exc.value.message_dict["licence_file"][0]


def test_approve_is_audited_and_makes_the_leader_active(make_leader, household):
    leader = make_leader(household)
    assert leader.status == LeaderStatus.APPROVED
    assert leader.is_active()
    assert AuditEvent.objects.filter(action="supplies.leader_approve", object_id=str(leader.pk)).exists()


def test_reject_needs_a_reason_and_is_audited(make_leader, household, head):
    leader = make_leader(household, approve=False)
    with pytest.raises(ValidationError):
        services.leader_review(actor=head, leader=leader, approve=False, reason="")
    services.leader_review(actor=head, leader=leader, approve=False, reason="许可证与供应商不符")
    leader.refresh_from_db()
    assert leader.status == LeaderStatus.REJECTED
    assert leader.review_reason == "许可证与供应商不符"
    assert AuditEvent.objects.filter(action="supplies.leader_reject").exists()


def test_cannot_approve_with_an_expired_document(make_leader, household, head):
    leader = make_leader(household, approve=False, permit_expires=timezone.localdate() - dt.timedelta(days=1))
    with pytest.raises(ValidationError, match="过期"):
        services.leader_review(actor=head, leader=leader, approve=True)


def test_expired_document_suspends_the_leader_and_the_daily_command_records_it(make_leader, household):
    with time_machine.travel(dt.datetime(2022, 4, 10, 9, tzinfo=dt.UTC)):
        leader = make_leader(household, permit_expires=dt.date(2022, 4, 12))
    with time_machine.travel(dt.datetime(2022, 4, 13, 9, tzinfo=dt.UTC)):
        leader = GroupBuyLeader.objects.get(pk=leader.pk)
        assert leader.status == LeaderStatus.APPROVED  # stored, but:
        assert leader.effective_status() == LeaderStatus.SUSPENDED
        call_command("suspend_expired_leaders")
    leader.refresh_from_db()
    assert leader.status == LeaderStatus.SUSPENDED
    assert AuditEvent.objects.filter(action="supplies.leader_suspend", object_id=str(leader.pk)).exists()


def test_renewed_document_sends_a_suspended_leader_back_to_review(make_leader, household, head):
    with time_machine.travel(dt.datetime(2022, 4, 10, 9, tzinfo=dt.UTC)):
        leader = make_leader(household, permit_expires=dt.date(2022, 4, 12))
    with time_machine.travel(dt.datetime(2022, 4, 13, 9, tzinfo=dt.UTC)):
        services.leaders_suspend_expired(actor="system")
        from jiayuan.supplies.tests.conftest import PNG

        services.leader_document_add(
            actor=head,
            leader=leader,
            kind="permit",
            number="BG-2",
            expires_on=dt.date(2022, 6, 30),
            filename="p.png",
            data=PNG,
        )
        leader.refresh_from_db()
        assert leader.status == LeaderStatus.PENDING
        services.leader_review(actor=head, leader=leader, approve=True)
        leader = GroupBuyLeader.objects.get(pk=leader.pk)
        assert leader.is_active()


def test_no_proposal_without_an_approved_leader(make_leader, make_group_buy, household):
    leader = make_leader(household, approve=False)
    with pytest.raises(ValidationError, match="尚未通过"):
        make_group_buy(leader)


def test_no_proposal_by_a_leader_with_expired_documents(make_leader, make_group_buy, household):
    with time_machine.travel(dt.datetime(2022, 4, 10, 9, tzinfo=dt.UTC)):
        leader = make_leader(household, permit_expires=dt.date(2022, 4, 12))
    with time_machine.travel(dt.datetime(2022, 4, 13, 9, tzinfo=dt.UTC)), pytest.raises(ValidationError, match="过期"):
        make_group_buy(leader)


def test_documents_expiring_within_a_week_are_flagged_on_the_home_page(client, make_leader, household, head):
    leader = make_leader(household, permit_expires=timezone.localdate() + dt.timedelta(days=3))
    assert leader.documents_expire_soon()
    client.force_login(head)
    html = client.get("/").content.decode()
    assert "请提醒更新" in html
