"""The household's first negative antigen report of the day in one statement
(``services.antigen_report_fast``, ADR 0019), PostgreSQL only: the same report and audit event as
``antigen_report_submit``; anything else (a second report, a positive, another household's
resident) takes the exact path."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from jiayuan.accounts import services as account_services
from jiayuan.core.models import AuditEvent
from jiayuan.screening import services
from jiayuan.screening.models import AntigenReport, Retest

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement report is PostgreSQL only")


def test_fast_report_writes_what_antigen_report_submit_writes(household, household2, make_resident):
    me, housemate = make_resident(household, name="王芳"), make_resident(household, name="王强")
    neighbour = make_resident(household2, name="李四")
    today = timezone.localdate()
    name = services.antigen_report_fast(household_id=household.pk, resident_id=me.pk, date=today, result="negative")
    assert name == "王芳"
    fast = AntigenReport.objects.get(resident=me)
    slow, created = services.antigen_report_submit(actor=None, resident=housemate, date=today, result="negative")
    assert created
    for field in ("neighbourhood_id", "building_id", "date", "result", "channel", "reported_by_id", "confirmed_at"):
        assert getattr(fast, field) == getattr(slow, field), field
    assert not fast.photo and fast.created_at and fast.updated_at
    fast_event = AuditEvent.objects.get(action="screening.antigen_report", object_id=str(fast.pk))
    slow_event = AuditEvent.objects.get(action="screening.antigen_report", object_id=str(slow.pk))
    for field in ("actor_id", "actor_label", "object_type", "neighbourhood_id", "changes"):
        assert getattr(fast_event, field) == getattr(slow_event, field), field
    assert fast_event.object_repr == fast.audit_repr()
    # A second report the same day, another household's resident, a positive: the exact path.
    assert (
        services.antigen_report_fast(household_id=household.pk, resident_id=me.pk, date=today, result="invalid") is None
    )
    assert (
        services.antigen_report_fast(household_id=household.pk, resident_id=neighbour.pk, date=today, result="negative")
        is None
    )
    assert (
        services.antigen_report_fast(
            household_id=household2.pk, resident_id=neighbour.pk, date=today, result="positive"
        )
        is None
    )
    assert AntigenReport.objects.count() == 2
    assert AuditEvent.objects.filter(action="screening.antigen_report").count() == 2


def test_household_page_report_through_the_fast_path_then_the_exact_one(household, household2, make_resident):
    me = make_resident(household, name="王芳")
    neighbour = make_resident(household2, name="李四")
    token = account_services.household_link_token(
        account_services.household_link_issue(actor=None, household=household)
    )
    client = Client()
    url = f"/h/{token}/screening/antigen/"
    page = client.post(url, {"resident": me.pk, "result": "negative"}, follow=True).content.decode()
    assert "已上报: 王芳" in page
    assert AntigenReport.objects.get(resident=me).result == "negative"
    page = client.post(url, {"resident": me.pk, "result": "positive", "confirm_positive": "1"}, follow=True)
    assert "已更新今天的结果" in page.content.decode()
    report = AntigenReport.objects.get(resident=me)
    assert report.result == "positive" and Retest.objects.filter(antigen_report=report).exists()
    assert AuditEvent.objects.filter(action="screening.antigen_report_update").count() == 1
    assert client.post(url, {"resident": neighbour.pk, "result": "negative"}).status_code == 404
    assert not AntigenReport.objects.filter(resident=neighbour).exists()


def test_the_link_is_read_by_the_report_statement(household, household2, make_resident):
    """With the link's (id, nonce) the statement checks the link itself (ADR 0023): live, the same
    nonce, the resident of its household; its use is recorded as household_link_resolve does."""
    from jiayuan.accounts.models import HouseholdLink

    me, neighbour = make_resident(household, name="王芳"), make_resident(household2, name="李四")
    today = timezone.localdate()
    link = account_services.household_link_issue(actor=None, household=household)
    parsed = account_services.household_link_parse(account_services.household_link_token(link))
    assert parsed == (link.pk, link.nonce)
    # Another household's resident, a wrong nonce: nothing written.
    assert services.antigen_report_fast(link=parsed, resident_id=neighbour.pk, date=today, result="negative") is None
    assert services.antigen_report_fast(link=(link.pk, "x"), resident_id=me.pk, date=today, result="negative") is None
    assert not AntigenReport.objects.exists()
    assert services.antigen_report_fast(link=parsed, resident_id=me.pk, date=today, result="negative") == "王芳"
    assert HouseholdLink.objects.get(pk=link.pk).last_used_at is not None
    # Revoked (a new link issued): the old token writes nothing, through the page it is the 404 page.
    account_services.household_link_issue(actor=None, household=household)
    other = make_resident(household, name="王强")
    assert services.antigen_report_fast(link=parsed, resident_id=other.pk, date=today, result="negative") is None
    old_token = account_services.household_link_token(link)
    r = Client().post(f"/h/{old_token}/screening/antigen/", {"resident": other.pk, "result": "negative"})
    assert r.status_code == 404
    assert AntigenReport.objects.count() == 1
