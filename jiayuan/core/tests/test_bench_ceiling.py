"""The benches' ceiling endpoint (``jiayuan/core/bench.py``): absent unless enabled, one INSERT when it is."""

from __future__ import annotations

import json
import sys
import types

import pytest
from django.urls import clear_url_caches

from jiayuan.core import bench


def test_ceiling_is_not_mounted_by_default(client, db, monkeypatch):
    monkeypatch.delenv(bench.ENV, raising=False)
    assert bench.urls() == []
    response = client.post("/bench/ceiling", data="{}", content_type="application/json")
    assert response.status_code == 404


def _urlconf_with_ceiling():
    module = types.ModuleType("jiayuan_test_bench_urls")
    from jiayuan import urls as project_urls

    module.urlpatterns = [*project_urls.urlpatterns, *bench.urls()]
    module.handler404 = project_urls.handler404
    return module


def test_ceiling_inserts_one_row_when_enabled(client, db, monkeypatch, settings):
    monkeypatch.setenv(bench.ENV, "1")
    module = _urlconf_with_ceiling()
    assert [p.name for p in bench.urls()] == ["bench_ceiling"]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    settings.ROOT_URLCONF = module.__name__
    clear_url_caches()
    bench.ensure_table()
    from django.db import connection

    try:
        response = client.post("/bench/ceiling", data=json.dumps({"n": 1}), content_type="application/json")
        assert response.status_code == 201
        new_id = response.json()["id"]
        with connection.cursor() as cur:
            cur.execute("SELECT body FROM bench_ceiling WHERE id = %s", [new_id])
            (body,) = cur.fetchone()
        assert (json.loads(body) if isinstance(body, str) else body) == {"n": 1}
        assert client.post("/bench/ceiling", data="not json", content_type="application/json").status_code == 400
        assert client.get("/bench/ceiling").status_code == 405
        # Turned off again while mounted: the view itself refuses.
        monkeypatch.delenv(bench.ENV)
        assert client.post("/bench/ceiling", data="{}", content_type="application/json").status_code == 404
    finally:
        bench.drop_table()
        clear_url_caches()


@pytest.mark.parametrize("value", ["", "0", "true", "yes"])
def test_only_exactly_one_enables_it(monkeypatch, value):
    monkeypatch.setenv(bench.ENV, value)
    assert bench.urls() == []
