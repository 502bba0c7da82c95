"""The hot paths' hand-written SQL helpers (``core.rawsql``, ADR 0023): rows become the instances a
queryset would build, values are written as the fields would write them, and the reused cursor
never mixes two statements' results."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models.signals import post_init

from jiayuan.core import rawsql
from jiayuan.places.models import Building, Household

pytestmark = pytest.mark.django_db


def _row(model, pk, fields):
    qn = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT {rawsql.columns(fields, 'x', connection)} FROM {qn(model._meta.db_table)} x WHERE x.id = %s",  # noqa: S608
            [pk],
        )
        (row,) = rawsql.convert_rows(connection, fields, [cur.fetchone()])
    return row


def test_instance_is_what_the_orm_builds(household):
    fields = list(Household._meta.concrete_fields)
    built = rawsql.instance(Household, connection, fields, _row(Household, household.pk, fields))
    fetched = Household.objects.get(pk=household.pk)
    assert type(built) is Household
    assert {f.attname: getattr(built, f.attname) for f in fields} == {
        f.attname: getattr(fetched, f.attname) for f in fields
    }
    assert built._state.adding is False and built._state.db == connection.alias
    assert built.get_deferred_fields() == set()
    assert built.building.pk == household.building_id  # a reference reads its row as usual
    built.room = "909"
    built.save()  # an UPDATE of the loaded row, not a second INSERT
    assert Household.objects.get(pk=household.pk).room == "909" and Household.objects.count() == 1


def test_fields_not_read_are_deferred_and_load_on_access(household):
    fields = [Household._meta.get_field("id"), Household._meta.get_field("room")]
    built = rawsql.instance(Household, connection, fields, _row(Household, household.pk, fields))
    assert "unit" in built.get_deferred_fields()
    assert built.unit == household.unit  # read from the database when asked


def test_a_model_with_an_init_receiver_is_built_by_from_db(building):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    fields = list(Building._meta.concrete_fields)
    post_init.connect(receiver, sender=Building)
    try:
        built = rawsql.instance(Building, connection, fields, _row(Building, building.pk, fields))
    finally:
        post_init.disconnect(receiver, sender=Building)
    assert seen == [built] and built._state.adding is False


def test_prep_save_passes_plain_values_and_sends_the_rest_through_their_field():
    from jiayuan.control.models import Quarantine

    pk, room, building = (Household._meta.get_field(n) for n in ("id", "room", "building"))
    assert rawsql.prep_save(connection, [pk, room, building], [3, "101", None]) == [3, "101", None]
    # A bool for an integer field and a date are not plain values: their field prepares them.
    start_on = Quarantine._meta.get_field("start_on")
    day = dt.date(2022, 4, 4)
    assert rawsql.prep_save(connection, [pk, start_on], [True, day]) == [
        pk.get_db_prep_save(True, connection),
        start_on.get_db_prep_save(day, connection),
    ]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)  # the connection is closed and opened again
def test_hot_cursor_is_reused_and_a_nested_one_is_its_own():
    with rawsql.hot_cursor(connection) as first:
        first.execute("SELECT 1")
        raw = first.cursor
        assert first.fetchone() == (1,)
    with rawsql.hot_cursor(connection) as again:
        assert again.cursor is raw  # the same psycopg cursor: no new adapters map per statement
        again.execute("SELECT %s::int", [2])
        with rawsql.hot_cursor(connection) as inner:
            assert inner.cursor is not raw
            inner.execute("SELECT 3")
            assert inner.fetchone() == (3,)
        assert again.fetchone() == (2,)  # the outer statement's result is untouched
    connection.close()  # a new connection: a new cursor
    with rawsql.hot_cursor(connection) as fresh:
        fresh.execute("SELECT 4")
        assert fresh.cursor is not raw and fresh.fetchone() == (4,)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_long_hot_statement_is_parsed_once():
    """psycopg keeps its parse of a statement only under 4,096 bytes and 50 parameters; the hot
    cursor keeps it for any (the sample scan's statement is longer)."""
    from psycopg._queries import _query2pg

    long_sql = "SELECT " + " + ".join(["%s::int"] * 60) + " AS total -- " + "x" * 4096
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(long_sql, list(range(60)))
        assert cur.fetchone() == (sum(range(60)),)
    hits = _query2pg.cache_info().hits
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(long_sql, list(range(1, 61)))
        assert cur.fetchone() == (sum(range(1, 61)),)
    assert _query2pg.cache_info().hits == hits + 1


def test_new_is_what_the_model_builds(gate_for_new):
    """``rawsql.new`` gives the instance ``Model(**values)`` gives: every default, the values,
    not saved yet; a default computed per use is computed per instance."""
    from jiayuan.core.models import AuditEvent
    from jiayuan.gates.models import GatePassage, GateSettings

    values = {"neighbourhood_id": gate_for_new.neighbourhood_id, "gate_id": gate_for_new.pk, "direction": "in"}
    for model, kwargs in [
        (GatePassage, values),
        (GateSettings, {"neighbourhood_id": gate_for_new.neighbourhood_id}),
        (AuditEvent, {"action": "x"}),
    ]:
        built, made = rawsql.new(model, **kwargs), model(**kwargs)
        assert type(built) is model
        fields = [f.attname for f in model._meta.concrete_fields]
        assert {a: getattr(built, a) for a in fields} == {a: getattr(made, a) for a in fields}
        assert built._state.adding is True and built._state.db is None
    assert rawsql.new(AuditEvent).changes is not rawsql.new(AuditEvent).changes  # default=dict, each its own
    from django.utils import timezone

    now = timezone.now()
    passage = rawsql.new(
        GatePassage, **values, compound_id=gate_for_new.compound_id, day=timezone.localdate(now), at=now, allowed=True
    )
    passage.save(force_insert=True)  # saves as the model's own would
    assert GatePassage.objects.get(pk=passage.pk).gate_id == gate_for_new.pk


def test_new_refuses_what_the_model_refuses():
    from jiayuan.gates.models import GateSettings

    with pytest.raises(TypeError, match="gate_settings"):
        rawsql.new(GateSettings, gate_settings=1)


def test_new_leaves_a_model_with_an_init_receiver_to_its_init(building):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=Household)
    try:
        built = rawsql.new(Household, building_id=building.pk, room="101")
    finally:
        post_init.disconnect(receiver, sender=Household)
    assert seen == [built] and built.room == "101"


@pytest.fixture
def gate_for_new(compound):
    from jiayuan.gates import services

    return services.gate_create(actor=None, compound=compound, name="东门")
