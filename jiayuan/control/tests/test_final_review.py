"""Final review: odd resident references in the forms never give a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from jiayuan.control import services
from jiayuan.control.tests.conftest import TODAY


@pytest.mark.parametrize("text", ["#²", "#99999999999999999999", "#٣"])
def test_case_form_answers_a_field_error_for_odd_resident_references(client, head, frozen, resident, text):
    client.force_login(head)
    response = client.post(
        reverse("control:case_create"),
        {"resident": text, "detected_on": TODAY.isoformat(), "source": "antigen", "type": "confirmed"},
    )
    assert response.status_code == 200
    assert "没有找到该居民" in response.content.decode()


@pytest.mark.parametrize("name", ["control:case_create", "control:quarantine_create"])
def test_resident_prefill_takes_only_a_plain_database_id(client, head, frozen, resident, name):
    client.force_login(head)
    ok = client.get(reverse(name), {"resident": "12"})
    assert 'value="#12"' in ok.content.decode()
    odd = client.get(reverse(name), {"resident": "²"})
    assert odd.status_code == 200
    assert 'value="#' not in odd.content.decode()


def test_policy_page_opens_for_a_neighbourhood_without_zone_settings(client, head, frozen, neighbourhood):
    client.force_login(head)
    response = client.get(reverse("control:policy"), {"neighbourhood": neighbourhood.pk})
    assert response.status_code == 200
    assert response.context["preset_code"] == ""


def test_zone_rules_reads_the_neighbourhoods_settings_or_the_defaults(head, frozen, neighbourhood, other_neighbourhood):
    from jiayuan.control import selectors
    from jiayuan.control.zones import DEFAULT_RULES, Rules

    services.zone_settings_update(
        actor=head, neighbourhood=neighbourhood, unit="compound", sealed_days=5, controlled_days=10
    )
    assert selectors.zone_rules(neighbourhood.pk) == Rules("compound", 5, 10)
    assert selectors.zone_rules(other_neighbourhood.pk) == DEFAULT_RULES


def test_health_check_api_without_resident_or_quarantine_is_the_services_422(client, head, frozen, resident):
    from jiayuan.accounts.services import api_token_create

    _t, key = api_token_create(actor=None, user=head)
    response = client.post(
        "/api/v1/health-checks",
        {"date": TODAY.isoformat(), "slot": "morning", "temperature": "36.5", "idempotency_key": "k-none"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "resident", "message": "请选择居民或隔离记录"}]
