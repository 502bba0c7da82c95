"""Read replicas on real engines (ADR 0008).

Run by ``scripts/test.sh`` against a private PostgreSQL primary and a streaming replica that
``scripts/pg_replica.sh`` starts on loopback (``DATABASE_REPLICA_URLS`` set); skipped elsewhere.
The tests commit (``transaction=True``), since a replica only sees what the primary committed.
"""

from __future__ import annotations

import logging
import time

import pytest
from django.conf import settings
from django.db import connections
from django.test.utils import CaptureQueriesContext

from jiayuan.core import replicas
from jiayuan.core.permissions import Role
from jiayuan.people.models import Resident

pytestmark = [
    pytest.mark.replica,
    pytest.mark.skipif(
        "replica1" not in settings.DATABASES, reason="no streaming replica configured (DATABASE_REPLICA_URLS)"
    ),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]


def _in_recovery(alias: str) -> bool:
    with connections[alias].cursor() as cur:
        cur.execute("SELECT pg_is_in_recovery()")
        return cur.fetchone()[0]


def _wait_for_replay(timeout: float = 10.0) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    with connections["default"].cursor() as cur:
        cur.execute("SELECT pg_current_wal_lsn()")
        target = cur.fetchone()[0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connections["replica1"].cursor() as cur:
            cur.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            if cur.fetchone()[0]:
                return
        time.sleep(0.05)
    raise AssertionError("the replica did not catch up in time")


@pytest.fixture(autouse=True)
def _replica_healthy():
    replicas._down_until.clear()
    yield
    replicas._down_until.clear()


def test_the_replica_is_a_streaming_standby():
    assert _in_recovery("replica1") is True
    assert _in_recovery("default") is False


def test_reads_that_did_not_opt_in_go_to_the_primary(household, make_resident):
    make_resident(household, name="王五")
    with replicas.replica_reads():
        pass
    assert Resident.objects.all().db == "default"


def test_a_lag_tolerant_read_is_served_by_the_replica(household, make_resident):
    make_resident(household, name="王五")
    _wait_for_replay()
    with replicas.replica_reads():
        qs = Resident.objects.filter(name="王五")
        assert qs.db == "replica1"
        assert qs.count() == 1
        assert _in_recovery(qs.db) is True


def test_a_read_after_a_write_in_the_same_block_reads_the_primary(household, make_resident):
    with replicas.replica_reads():
        make_resident(household, name="赵六")  # written through the ORM: the block is now pinned
        qs = Resident.objects.filter(name="赵六")
        assert qs.db == "default"
        assert qs.count() == 1


def test_a_dashboard_page_is_served_by_the_replica(client, make_user, neighbourhood, household, make_resident):
    make_resident(household, name="王五")
    head = make_user(Role.COMMITTEE_HEAD, neighbourhood, username="head")
    client.force_login(head)  # a session written outside a request: this client has not written yet
    _wait_for_replay()
    with CaptureQueriesContext(connections["replica1"]) as on_replica:
        response = client.get("/control/summary/")
    assert response.status_code == 200
    assert len(on_replica.captured_queries) > 0


def test_after_a_write_the_same_client_reads_its_writes_from_the_primary(
    client, make_user, neighbourhood, household, make_resident
):
    head = make_user(Role.COMMITTEE_HEAD, neighbourhood, username="head")
    client.force_login(head)
    # Any write request pins this client (its session) to the primary for a few seconds.
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    with CaptureQueriesContext(connections["replica1"]) as on_replica:
        response = client.get("/control/summary/")
    assert response.status_code == 200
    assert on_replica.captured_queries == []


def test_a_replica_that_is_down_falls_back_to_the_primary_with_a_warning(household, make_resident, caplog):
    make_resident(household, name="王五")
    conn = connections["replica1"]
    conn.close()
    port = conn.settings_dict["PORT"]
    conn.settings_dict["PORT"] = 1  # nothing listens there: as if the replica were down
    try:
        with caplog.at_level(logging.WARNING, logger="jiayuan.core.replicas"), replicas.replica_reads():
            qs = Resident.objects.filter(name="王五")
            assert qs.db == "default"
            assert qs.count() == 1
        assert any("replica1 unreachable" in r.getMessage() for r in caplog.records)
    finally:
        conn.close()
        conn.settings_dict["PORT"] = port
