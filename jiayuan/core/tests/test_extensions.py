"""Extension points: registered panels and menu entries show up on the shared pages, and events
reach their subscribers inside the publisher's transaction."""

from __future__ import annotations

import pytest
from django.db import transaction

from jiayuan.accounts.services import household_link_issue, household_link_token
from jiayuan.core import extensions
from jiayuan.core.permissions import Action, Role
from jiayuan.places.models import Street


@pytest.fixture
def panel_template(settings, tmp_path):
    (tmp_path / "panel.html").write_text('<div class="card">{{ word }}</div>', encoding="utf-8")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}]
    return "panel.html"


@pytest.fixture
def registries(monkeypatch):
    """Empty registries for the test, whatever the installed apps registered."""
    monkeypatch.setattr(extensions, "_nav", [])
    monkeypatch.setattr(extensions, "_household", [])
    monkeypatch.setattr(extensions, "_home", [])
    monkeypatch.setattr(extensions, "_resident", [])
    monkeypatch.setattr(extensions, "_handlers", extensions.defaultdict(list))


@pytest.mark.django_db
def test_household_panel_is_rendered_on_the_link_page(client, registries, panel_template, household):
    seen = []

    def panel(request, hh, link):
        seen.append(hh.pk)
        return panel_template, {"word": f"面板-{hh.room}"}

    def silent(request, hh, link):
        return None

    extensions.household_panel(panel)
    extensions.household_panel(silent)
    extensions.household_panel(panel)  # registering twice keeps one
    token = household_link_token(household_link_issue(actor=None, household=household))
    response = client.get(f"/h/{token}/")
    assert response.status_code == 200
    assert seen == [household.pk]
    assert "面板-301" in response.content.decode()


@pytest.mark.django_db
def test_home_panel_and_menu_entry_follow_the_users_permissions(
    client, registries, panel_template, neighbourhood, make_user
):
    extensions.home_panel(lambda request: (panel_template, {"word": "警报-测试"}))
    extensions.nav_item("审计入口-测试", "core:audit", Action.VIEW_AUDIT)
    head = make_user(Role.COMMITTEE_HEAD, neighbourhood, username="head")
    volunteer = make_user(Role.VOLUNTEER, neighbourhood, username="vol")

    client.force_login(head)
    page = client.get("/").content.decode()
    assert "警报-测试" in page
    assert "审计入口-测试" in page

    client.force_login(volunteer)
    page = client.get("/").content.decode()
    assert "审计入口-测试" not in page


@pytest.mark.django_db
def test_event_handlers_run_inside_the_publishers_transaction(registries):
    def handler(*, code, **kwargs):
        Street.objects.create(code=code, name="由事件创建")
        return code

    extensions.subscribe("test.happened", handler)
    assert extensions.publish("test.happened", code="E1", extra=1) == ["E1"]
    assert Street.objects.filter(code="E1").exists()

    with pytest.raises(RuntimeError), transaction.atomic():
        extensions.publish("test.happened", code="E2")
        raise RuntimeError("publisher fails after the event")
    assert not Street.objects.filter(code="E2").exists()
    assert extensions.publish("nobody.listens") == []


def test_demo_loaders_run_in_order(monkeypatch):
    monkeypatch.setattr(extensions, "_demo", [])
    first, second = (lambda **kw: None), (lambda **kw: None)
    extensions.demo_loader(second, order=30)
    extensions.demo_loader(first, order=10)
    assert extensions.demo_loaders() == [first, second]


@pytest.mark.django_db
def test_resident_panel_is_rendered_on_the_residents_page(
    client, registries, panel_template, household, make_resident, make_user
):
    resident = make_resident(household, name="周建国")
    extensions.resident_panel(lambda request, r: (panel_template, {"word": f"居民面板-{r.pk}"}))
    extensions.resident_panel(lambda request, r: None)
    client.force_login(make_user(Role.BUILDING_LEADER, household.building, username="leader"))
    page = client.get(f"/people/{resident.pk}/").content.decode()
    assert f"居民面板-{resident.pk}" in page
