"""The staff home page's positive-tube alert shows a tube only to users who may see one of the
people in it: a building leader is not told about another building's positive tube."""

from __future__ import annotations

import pytest

from jiayuan.core.permissions import Role
from jiayuan.screening import services
from jiayuan.screening.codes import sampling_code
from jiayuan.screening.models import Tube


@pytest.fixture
def positive_tube_in_building2(round_, residents, staff):
    for resident in residents["b2"][:2]:
        services.sample_scan(actor=staff, round_=round_, tube_barcode="T-B2", resident_code=sampling_code(resident.pk))
    services.tube_close(actor=staff, tube=Tube.objects.get(barcode="T-B2"))
    services.tube_result_record(actor=staff, round_=round_, barcode="T-B2", result="positive")


@pytest.mark.django_db
def test_positive_tube_alert_follows_scope(
    client, positive_tube_in_building2, make_user, building, building2, neighbourhood, staff
):
    client.force_login(staff)
    assert "T-B2" in client.get("/").content.decode()

    client.force_login(make_user(Role.BUILDING_LEADER, building2, username="leader2"))
    assert "T-B2" in client.get("/").content.decode()

    client.force_login(make_user(Role.BUILDING_LEADER, building, username="leader1"))
    assert "T-B2" not in client.get("/").content.decode()
