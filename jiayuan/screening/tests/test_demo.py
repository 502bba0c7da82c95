"""The screening demo loader: believable data, and running it twice changes nothing."""

from __future__ import annotations

import io

import pytest

from jiayuan.people.demo import demo_load as people_demo_load
from jiayuan.places.models import Neighbourhood
from jiayuan.screening import selectors
from jiayuan.screening.demo import demo_load
from jiayuan.screening.models import AntigenReport, Retest, Round, Sample, Tube


@pytest.mark.django_db
def test_demo_loader_is_believable_and_idempotent(frozen):
    people_demo_load()
    nb = Neighbourhood.objects.get(code="DEMO")
    demo_load(neighbourhood=nb, stdout=io.StringIO())
    counts = (Round.objects.count(), Tube.objects.count(), Sample.objects.count(), AntigenReport.objects.count())
    demo_load(neighbourhood=nb, stdout=io.StringIO())
    assert (
        Round.objects.count(),
        Tube.objects.count(),
        Sample.objects.count(),
        AntigenReport.objects.count(),
    ) == counts
    today = Round.objects.get(date=frozen)
    yesterday = Round.objects.exclude(pk=today.pk).get()
    assert today.status == "open" and today.plan_slots.exists() and today.tubes.filter(status="open").exists()
    assert yesterday.status == "finished" and Retest.objects.filter(round=yesterday).count() == 10
    from jiayuan.accounts.models import User

    staff = User.objects.get(username="staff")
    assert selectors.missed_list(user=staff, round_=yesterday).exists()
    assert AntigenReport.objects.filter(date=frozen, result="positive").count() == 1
