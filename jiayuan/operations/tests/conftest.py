"""Operations fixtures: the roles of the demo (committee, owners' committee, property company,
building leader, volunteer), a sealed building by a positive case, a quarantined household."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from jiayuan.control import services as control_services
from jiayuan.control.choices import CaseSource, QuarantineReason
from jiayuan.core.permissions import Role
from jiayuan.operations import services


@pytest.fixture
def staff(make_user, neighbourhood):
    return make_user(Role.COMMITTEE_STAFF, neighbourhood, username="staff")


@pytest.fixture
def owners(make_user, neighbourhood):
    return make_user(Role.OWNERS_COMMITTEE, neighbourhood, username="owners")


@pytest.fixture
def prop(make_user, neighbourhood):
    return make_user(Role.PROPERTY_STAFF, neighbourhood, username="property")


@pytest.fixture
def leader(make_user, building):
    return make_user(Role.BUILDING_LEADER, building, username="leader")


@pytest.fixture
def volunteer(make_user, building2):
    return make_user(Role.VOLUNTEER, building2, username="volunteer")


@pytest.fixture
def report(owners, neighbourhood):
    """``report(building=None, **kw)``: a finding by the owners' committee; its task."""

    def make(building=None, kind="garbage_overflow", place="垃圾点", **kw):
        return services.finding_report(
            actor=owners, neighbourhood=neighbourhood, kind=kind, place=place, building=building, **kw
        )

    return make


@pytest.fixture
def seal(head):
    """``seal(resident)``: a positive case for the resident; their building becomes sealed."""

    def make(resident):
        return control_services.case_record(
            actor=head, resident=resident, detected_on=timezone.localdate(), source=CaseSource.DISTRICT_NOTICE
        )

    return make


@pytest.fixture
def quarantine(head):
    def make(resident):
        return control_services.quarantine_start(
            actor=head,
            reason=QuarantineReason.CLOSE_CONTACT,
            resident=resident,
            start_on=timezone.localdate() - dt.timedelta(days=1),
        )

    return make
