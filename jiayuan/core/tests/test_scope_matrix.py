"""The permission matrix, declared once and checked for every role on pages and API.

Given a neighbourhood T1 (compound C1 with buildings 1 and 2) and a second neighbourhood T2,
with one resident in each building, each role assigned over its usual scope must see exactly
the residents the matrix says, and get a 404 — never a 403 — for the others.
"""

from __future__ import annotations

import pytest

from jiayuan.accounts.services import api_token_create
from jiayuan.conftest import ID_NUMBERS
from jiayuan.core.permissions import Role
from jiayuan.places import services as places

# role → (scope fixture name, residents visible by name, may edit)
MATRIX = {
    Role.COMMITTEE_HEAD: ("neighbourhood", {"r1", "r2"}),
    Role.COMMITTEE_STAFF: ("neighbourhood", {"r1", "r2"}),
    Role.OWNERS_COMMITTEE: ("neighbourhood", {"r1", "r2"}),
    Role.PROPERTY_STAFF: ("neighbourhood", {"r1", "r2"}),
    Role.GATE_GUARD: ("compound", {"r1", "r2"}),
    Role.BUILDING_LEADER: ("building", {"r1"}),
    Role.VOLUNTEER: ("building", {"r1"}),
    Role.SAMPLER: ("neighbourhood", {"r1", "r2"}),
    Role.STREET_OFFICER: ("street", set()),
}


@pytest.fixture
def world(street, neighbourhood, compound, building, household, household2, other_neighbourhood, make_resident):
    other_compound = places.compound_create(actor=None, neighbourhood=other_neighbourhood, name="红御苑")
    other_building = places.building_create(actor=None, compound=other_compound, number="9")
    other_household = places.household_create(actor=None, building=other_building, room="101")
    return {
        "street": street,
        "neighbourhood": neighbourhood,
        "compound": compound,
        "building": building,
        "other_building": other_building,
        "r1": make_resident(household, name="甲一", id_number=ID_NUMBERS[0], phone="13812345678"),
        "r2": make_resident(household2, name="乙二", id_number=ID_NUMBERS[1]),
        "r3": make_resident(other_household, name="丙三", id_number=ID_NUMBERS[2]),
    }


@pytest.fixture(params=list(MATRIX), ids=lambda r: str(r))
def actor(request, world, make_user):
    role = request.param
    scope_name, visible = MATRIX[role]
    user = make_user(role, world[scope_name], username=f"u-{role}")
    return role, user, visible


@pytest.mark.django_db
def test_resident_pages_follow_the_matrix(client, world, actor):
    role, user, visible = actor
    client.force_login(user)
    for key in ("r1", "r2", "r3"):
        response = client.get(f"/people/{world[key].pk}/")
        expected = 200 if key in visible else 404
        assert response.status_code == expected, f"{role} GET {key}: {response.status_code}"


@pytest.mark.django_db
def test_resident_api_follows_the_matrix(client, world, actor):
    role, user, visible = actor
    _token, key = api_token_create(actor=None, user=user)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    listed = client.get("/api/v1/residents?limit=100", **auth).json()
    assert {i["name"] for i in listed["items"]} == {world[k].name for k in visible}, role
    assert listed["count"] == len(visible)
    for k in ("r1", "r2", "r3"):
        response = client.get(f"/api/v1/residents/{world[k].pk}", **auth)
        assert response.status_code == (200 if k in visible else 404), f"{role} API {k}"
        if response.status_code == 404:
            # Same body for missing and forbidden: an outsider learns nothing.
            assert response.json() == client.get("/api/v1/residents/999999", **auth).json()


@pytest.mark.django_db
def test_building_pages_follow_the_matrix(client, world, actor):
    role, user, visible = actor
    client.force_login(user)
    own = client.get(f"/places/buildings/{world['building'].pk}/")
    other = client.get(f"/places/buildings/{world['other_building'].pk}/")
    assert own.status_code == (200 if visible else 404), role
    assert other.status_code == 404, role


@pytest.mark.django_db
def test_street_officer_sees_counts_not_names(client, world, make_user):
    officer = make_user(Role.STREET_OFFICER, world["street"], username="officer")
    client.force_login(officer)
    home = client.get("/")
    assert home.status_code == 200
    body = home.content.decode()
    assert "泰和居民区" in body and "红御居民区" in body
    assert home.context["counts"]["residents"] == 3
    for key in ("r1", "r2", "r3"):
        assert world[key].name not in body
    assert client.get("/people/").status_code == 404
    assert client.get("/places/").status_code == 200
    assert world["r1"].name not in client.get("/places/").content.decode()


@pytest.mark.django_db
def test_user_without_assignment_sees_nothing(client, world, make_user):
    nobody = make_user(None)
    client.force_login(nobody)
    assert "还没有分配任何范围" in client.get("/").content.decode()
    assert client.get(f"/people/{world['r1'].pk}/").status_code == 404
    _t, key = api_token_create(actor=None, user=nobody)
    assert client.get("/api/v1/residents", HTTP_AUTHORIZATION=f"Bearer {key}").json() == {"items": [], "count": 0}


@pytest.mark.django_db
def test_inactive_assignment_grants_nothing(client, world, make_user):
    leader = make_user(Role.BUILDING_LEADER, world["building"])
    leader.assignments.update(active=False)
    client.force_login(leader)
    assert client.get(f"/people/{world['r1'].pk}/").status_code == 404


@pytest.mark.django_db
def test_scope_sql_grants_exactly_what_restrict_grants(world, actor, make_user):
    """The hand-written condition (hot paths) and ``restrict`` agree on every scoped model, for
    every role, or ``scope_sql`` declines (None) and the caller goes through ``restrict``."""
    from django.apps import apps
    from django.db import connection

    from jiayuan.core.permissions import Action
    from jiayuan.core.scoping import restrict, scope_sql

    _role, user, _visible = actor
    inactive = make_user(Role.SAMPLER, world["neighbourhood"], username="gone")
    inactive.is_active = False
    admin = make_user(None, None, username="root")
    admin.is_superuser = True
    answered = 0
    for someone in (user, inactive, admin, make_user(None, None, username="nobody")):
        for model in apps.get_models():
            if not getattr(model, "scope_fields", None):
                continue
            for action in (Action.VIEW_ROSTER, Action.SAMPLE, Action.CHANGE_RESIDENT, Action.VIEW_CONTROL):
                cond = scope_sql(model, someone, action, "x", connection)
                if cond is None:
                    continue
                answered += 1
                table = connection.ops.quote_name(model._meta.db_table)
                pk = connection.ops.quote_name(model._meta.pk.column)
                with connection.cursor() as cur:
                    cur.execute(f"SELECT x.{pk} FROM {table} x WHERE {cond[0]}", cond[1])  # noqa: S608
                    got = {r[0] for r in cur.fetchall()}
                assert got == set(restrict(model.objects.all(), someone, action).values_list("pk", flat=True)), (
                    model,
                    someone,
                    action,
                )
    assert answered > 0
