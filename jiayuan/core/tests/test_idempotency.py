"""A retried write with the same idempotency key is answered once and stored once."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from jiayuan.core.idempotency import run_idempotent
from jiayuan.core.models import IdempotencyRecord
from jiayuan.places.models import Street


def _create_street(code):
    def fn():
        street = Street.objects.create(code=code, name="街道")
        return 201, {"id": street.pk}

    return fn


@pytest.mark.django_db
def test_retry_with_same_key_replays_first_answer_and_writes_nothing_new():
    first = run_idempotent(scope="streets:u1", key="k-1", fn=_create_street("A"))
    calls = []

    def again():
        calls.append(1)
        return _create_street("B")()

    second = run_idempotent(scope="streets:u1", key="k-1", fn=again)
    assert second == first
    assert calls == []
    assert Street.objects.count() == 1


@pytest.mark.django_db
def test_same_key_in_another_scope_is_a_different_write():
    run_idempotent(scope="streets:u1", key="k", fn=_create_street("A"))
    run_idempotent(scope="streets:u2", key="k", fn=_create_street("B"))
    assert Street.objects.count() == 2


@pytest.mark.django_db
def test_without_key_every_call_runs():
    run_idempotent(scope="s", key="", fn=_create_street("A"))
    run_idempotent(scope="s", key="", fn=_create_street("B"))
    assert Street.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
def test_failed_write_stores_nothing_and_a_retry_runs_again():
    def boom():
        Street.objects.create(code="X", name="街道")
        raise ValueError("lab down")

    with pytest.raises(ValueError):
        run_idempotent(scope="s", key="k", fn=boom)
    assert Street.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0
    assert run_idempotent(scope="s", key="k", fn=_create_street("A"))[0] == 201
    assert Street.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["a\x00b", "x" * 201, "tab\tkey"])
def test_bad_key_is_a_field_error_and_nothing_runs(key):
    with pytest.raises(ValidationError) as excinfo:
        run_idempotent(scope="s", key=key, fn=_create_street("A"))
    assert "idempotency_key" in excinfo.value.message_dict
    assert Street.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_store_once_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("two real concurrent connections need PostgreSQL")
    barrier = threading.Barrier(4)
    answers, errors = [], []

    def worker(i):
        try:
            barrier.wait()

            def fn():
                street = Street.objects.create(code=f"C{i}", name="街道")
                return 201, {"id": street.pk}

            answers.append(run_idempotent(scope="streets:u1", key="same", fn=fn))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Street.objects.count() == 1
    assert len({a[1]["id"] for a in answers}) == 1
