"""``jiayuan demo``: the demo neighbourhood, its logins, re-runs and the refusal on real data."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import override_settings
from stdnum.cn import ric

from jiayuan.accounts.models import Assignment, User
from jiayuan.core.models import AuditEvent
from jiayuan.people.choices import Gender, Tag
from jiayuan.people.demo import DEMO_PASSWORD, demo_plan
from jiayuan.people.models import Resident, ResidentTag
from jiayuan.places import services as places_services
from jiayuan.places.models import Building, Compound, Household, Neighbourhood, Street

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# What each demo login may do, and over what: (role, level, street/neighbourhood code,
# compound name or building number).
EXPECTED_ASSIGNMENTS = {
    "head": {("committee_head", "neighbourhood", "DEMO")},
    "staff": {("committee_staff", "neighbourhood", "DEMO")},
    "owners": {("owners_committee", "neighbourhood", "DEMO")},
    "property": {("property_staff", "neighbourhood", "DEMO")},
    "guard": {("gate_guard", "compound", "泰和苑")},
    "leader": {("building_leader", "building", "1"), ("building_leader", "building", "2")},
    "volunteer": {("volunteer", "building", "3"), ("volunteer", "building", "4")},
    "sampler": {("sampler", "neighbourhood", "DEMO")},
    "street": {("street_officer", "street", "GJ")},
}


def _target(assignment: Assignment) -> str:
    target = assignment.target
    return target.number if assignment.level == "building" else getattr(target, "code", target.name)


def _row_counts() -> dict[str, int]:
    models = (Street, Neighbourhood, Compound, Building, Household, Resident, ResidentTag, User, Assignment)
    return {m.__name__: m.objects.count() for m in models}


def _load() -> str:
    out = StringIO()
    with override_settings(DEBUG=True):  # the demo refuses to load with DEBUG off unless told
        call_command("demo", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="class")
def demo_output(django_db_setup, django_db_blocker):
    """The demo loaded once for a class of read-only tests and rolled back after them.

    Loading takes a second or two, so the checks that only read share one load; each test still
    runs in its own savepoint inside this transaction.
    """
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS), transaction.atomic():
        yield _load()
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.usefixtures("demo_output")
class TestDemoNeighbourhood:
    """What one run of ``jiayuan demo`` leaves in an empty database."""

    def test_places_in_expected_ranges(self):
        demo = Neighbourhood.objects.get(code="DEMO")
        assert demo.is_demo
        assert demo.street.code == "GJ"
        assert sorted(Compound.objects.filter(neighbourhood=demo).values_list("name", flat=True)) == sorted(
            ["泰和苑", "红御苑"]
        )
        buildings = list(Building.objects.filter(neighbourhood=demo))
        assert 24 <= len(buildings) <= 26
        assert sorted(int(b.number) for b in buildings) == list(range(1, len(buildings) + 1))
        assert all(1 <= b.units <= 3 and 6 <= b.floors <= 18 for b in buildings)
        assert 1200 <= Household.objects.filter(neighbourhood=demo).count() <= 1400
        assert 3400 <= Resident.objects.filter(neighbourhood=demo).count() <= 3800

    def test_households_sit_on_real_floors_of_their_building(self):
        for floor, room, floors in Household.objects.values_list("floor", "room", "building__floors"):
            assert floor == int(room[:-2])
            assert 1 <= floor <= floors

    def test_id_numbers_are_valid_unique_and_match_gender_and_birth_date(self):
        residents = list(Resident.objects.all())
        numbers = [r.id_number for r in residents]
        assert all(ric.is_valid(n) for n in numbers)
        assert len(set(numbers)) == len(numbers)
        assert len({r.id_number_hash for r in residents}) == len(residents)
        for r in residents:
            assert r.gender == (Gender.MALE if int(r.id_number[16]) % 2 else Gender.FEMALE)
            assert r.birth_date == ric.get_birth_date(r.id_number)

    def test_most_adults_have_a_unique_mobile_and_some_elderly_none(self):
        residents = list(Resident.objects.all())
        phones = [r.phone for r in residents if r.phone]
        assert len(set(phones)) == len(phones)
        assert all(len(p) == 11 and p[:2] in ("13", "15", "18", "19") for p in phones)
        adults = [r for r in residents if r.age >= 18]
        assert sum(bool(r.phone) for r in adults) / len(adults) > 0.85
        assert any(not r.phone for r in adults if r.age >= 75)
        assert not any(r.phone for r in residents if r.age < 16)

    def test_every_building_has_one_building_leader(self):
        leaders = Counter(
            ResidentTag.objects.filter(tag=Tag.BUILDING_LEADER).values_list("resident__household__building", flat=True)
        )
        assert set(leaders) == set(Building.objects.values_list("pk", flat=True))
        assert set(leaders.values()) == {1}

    def test_main_tags_all_occur_and_fit_the_resident(self):
        residents = list(Resident.objects.prefetch_related("tag_rows"))
        assert set(Tag.values) <= {t for r in residents for t in r.tags}
        household_size = Counter(r.household_id for r in residents)
        adults = [r for r in residents if r.age >= 18]
        assert 0.05 <= sum(Tag.PARTY_MEMBER in r.tags for r in adults) / len(adults) <= 0.11
        for r in residents:
            if Tag.INFANT in r.tags:
                assert r.age < 3
            if Tag.ELDERLY_ALONE in r.tags:
                assert r.age >= 60
                assert household_size[r.household_id] == 1
        over_75 = [r for r in residents if r.age >= 75]
        assert sum(Tag.NO_SMARTPHONE in r.tags for r in over_75) / len(over_75) > 0.4

    def test_residency_is_mostly_owners_with_some_tenants(self):
        residency = Counter(Resident.objects.values_list("residency", flat=True))
        total = sum(residency.values())
        assert 0.10 <= residency["tenant"] / total <= 0.20
        presence = Counter(Resident.objects.values_list("presence", flat=True))
        assert presence["present"] / total > 0.85
        assert {"away", "not_returned", "hospitalised", "central_quarantine"} <= set(presence)

    def test_each_demo_login_authenticates_and_has_exactly_its_assignment(self):
        for username, expected in EXPECTED_ASSIGNMENTS.items():
            user = authenticate(username=username, password=DEMO_PASSWORD)
            assert user is not None, username
            assert user.display_name
            got = {(a.role, a.level, _target(a)) for a in user.assignments.filter(active=True)}
            assert got == expected, username

    def test_leader_leads_buildings_one_and_two_of_the_demo(self):
        leader = User.objects.get(username="leader")
        buildings = [a.building for a in leader.assignments.filter(role="building_leader")]
        assert sorted(b.number for b in buildings) == ["1", "2"]
        assert {b.neighbourhood.code for b in buildings} == {"DEMO"}

    def test_prints_counts_and_login_table(self, demo_output):
        assert "DEMO" in demo_output
        assert "| leader" in demo_output
        assert "1号楼、2号楼" in demo_output
        assert demo_output.count(DEMO_PASSWORD) >= len(EXPECTED_ASSIGNMENTS)

    def test_writes_one_demo_load_audit_event_with_counts(self):
        event = AuditEvent.objects.get(action="demo.load")
        demo = Neighbourhood.objects.get(code="DEMO")
        assert event.neighbourhood_id == demo.pk
        assert event.changes["created"] is True
        assert event.changes["residents"] == Resident.objects.count()
        # Residents are written in bulk, without an audit row each.
        assert not AuditEvent.objects.filter(action="resident.create").exists()


def test_plan_is_the_same_for_the_same_day():
    today = dt.date(2026, 4, 1)

    def people(plan):
        return [
            (b.number, h.unit, h.room, p.name, p.id_number, p.phone, sorted(p.tags))
            for c in plan
            for b in c.buildings
            for h in b.households
            for p in h.residents
        ]

    assert people(demo_plan(today=today)) == people(demo_plan(today=today))


@pytest.mark.django_db
def test_running_again_changes_no_data_and_restores_the_demo_logins():
    _load()
    before = _row_counts()
    residents_before = list(Resident.objects.order_by("pk").values_list("pk", "name", "updated_at"))
    leader = User.objects.get(username="leader")
    leader.set_password("changed-by-someone")
    leader.save()
    User.objects.get(username="guard").assignments.all().delete()

    output = _load()

    assert "already there" in output
    after = _row_counts()
    assert after == before
    assert list(Resident.objects.order_by("pk").values_list("pk", "name", "updated_at")) == residents_before
    assert authenticate(username="leader", password=DEMO_PASSWORD) is not None
    guard = User.objects.get(username="guard")
    assert {(a.role, a.level, _target(a)) for a in guard.assignments.all()} == EXPECTED_ASSIGNMENTS["guard"]
    assert list(AuditEvent.objects.filter(action="demo.load").values_list("changes__created", flat=True)) == [
        False,
        True,
    ]


@pytest.mark.django_db
def test_refuses_a_database_with_a_real_neighbourhood_and_writes_nothing():
    street = places_services.street_create(actor=None, code="S1", name="高境镇")
    places_services.neighbourhood_create(actor=None, street=street, code="T1", name="泰和居民区")
    before = _row_counts()
    audit_before = AuditEvent.objects.count()

    with pytest.raises(CommandError) as excinfo:
        _load()

    assert excinfo.value.returncode == 1
    assert "T1" in str(excinfo.value)
    assert "正式居民区" in str(excinfo.value)
    assert "non-demo" in str(excinfo.value)
    assert _row_counts() == before
    assert AuditEvent.objects.count() == audit_before
