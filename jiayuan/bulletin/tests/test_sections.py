"""Every section's figures against a crafted day, "since yesterday", and the personal-data rule."""

from __future__ import annotations

import pytest

from jiayuan.bulletin.rendering import SMALL, compose_sections, figure_json
from jiayuan.bulletin.tests.conftest import DAY, NAMES
from jiayuan.core.extensions import BulletinFigure

pytestmark = pytest.mark.django_db


def _figures(sections) -> dict[str, dict]:
    return {f"{s['key']}.{f['key']}": f for s in sections for f in s["figures"]}


def test_sections_count_the_crafted_day(crafted_day, neighbourhood, building, building2):
    sections = compose_sections(neighbourhood, DAY)
    assert [s["key"] for s in sections][:3] == ["residents", "screening", "control"]
    f = _figures(sections)
    assert (f["residents.residents"]["value"], f["residents.residents"]["previous"]) == (8, 0)
    assert f["residents.present"]["value"] == 8
    assert (f["screening.rounds"]["value"], f["screening.rounds"]["previous"]) == (1, 1)
    assert (f["screening.sampled"]["value"], f["screening.sampled"]["previous"]) == (5, 3)
    assert f["screening.sampled"]["change"] == "+2"
    assert f["screening.share_sampled"]["value"] == 62.5  # 5 of 8 present
    assert f["screening.share_sampled"]["display"] == "62.5%"
    assert (f["screening.antigen_reported"]["value"], f["screening.antigen_completion"]["value"]) == (4, 50.0)
    # New cases as counts per building; yesterday's single case is "少量", so no change is given.
    assert f["control.cases_new"]["value"] == 3
    assert f["control.cases_new"]["previous"] is None
    assert f["control.cases_new"]["previous_display"] == SMALL
    assert f["control.cases_new"]["change"] == ""
    b1 = f[f"control.cases_new:{building.pk}"]
    assert (b1["place"], b1["value"], b1["previous"], b1["change"]) == (building.name, 3, 0, "+3")
    b2 = f[f"control.cases_new:{building2.pk}"]
    assert (b2["value"], b2["display"], b2["previous_display"]) == (0, "0人", SMALL)
    # Both buildings were sealed by their cases (the zone engine), 2号楼 yesterday.
    assert (f["control.sealed_buildings"]["value"], f["control.sealed_buildings"]["previous"]) == (2, 1)
    control = next(s for s in sections if s["key"] == "control")
    assert any(building.name in line and "封控区" in line for line in control["lines"])
    assert "较昨日" in control["text"] and building.name in control["text"]


def test_no_names_or_rooms_in_any_section(crafted_day, neighbourhood, household):
    text = repr(compose_sections(neighbourhood, DAY))
    for name in NAMES:
        assert name not in text
    assert household.room not in text
    assert "1391234" not in text


@pytest.mark.parametrize(
    ("value", "previous", "display", "stored", "change"),
    [
        (0, 0, "0", 0, "持平"),
        (1, 5, SMALL, None, ""),
        (2, 0, SMALL, None, ""),
        (3, 1, "3", 3, ""),
        (7, 4, "7", 7, "+3"),
    ],
)
def test_small_counts_of_people_become_shaoliang(settings, value, previous, display, stored, change):
    settings.JIAYUAN_BULLETIN_SMALL_COUNT = 3
    f = figure_json(BulletinFigure("x", "新增", value, previous))
    assert (f["display"], f["value"], f["change"]) == (display, stored, change)
    assert f["previous"] is (None if 0 < previous < 3 else f["previous"])


def test_counts_of_places_are_never_masked(settings):
    settings.JIAYUAN_BULLETIN_SMALL_COUNT = 3
    f = figure_json(BulletinFigure("sealed", "封控楼栋", 1, 2, people=False))
    assert (f["display"], f["value"], f["previous"], f["change"]) == ("1", 1, 2, "−1")


def test_the_threshold_is_a_setting(settings):
    settings.JIAYUAN_BULLETIN_SMALL_COUNT = 10
    assert figure_json(BulletinFigure("x", "新增", 9))["display"] == SMALL
    settings.JIAYUAN_BULLETIN_SMALL_COUNT = 1
    assert figure_json(BulletinFigure("x", "新增", 1))["display"] == "1"
