"""With the demo neighbourhood loaded (``jiayuan demo``): the last 7 days' bulletins and a
convention are published, and no demo resident's name, phone, ID number or room appears in any
published output (page, print page, archive, notice page, API JSON)."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from jiayuan.bulletin import services
from jiayuan.bulletin.choices import BulletinStatus, NoticeKind
from jiayuan.bulletin.models import Bulletin, Notice
from jiayuan.bulletin.tests.conftest import bearer
from jiayuan.core.extensions import demo_loaders
from jiayuan.people.demo import DEMO_CODE, demo_load
from jiayuan.people.models import Resident
from jiayuan.places.models import Household, Neighbourhood


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        out = StringIO()
        demo_load(stdout=out)
        nb = Neighbourhood.objects.get(code=DEMO_CODE)
        for loader in demo_loaders():
            loader(neighbourhood=nb, stdout=out)
        yield nb
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_demo_publishes_seven_days_and_a_convention(demo):
    today = timezone.localdate()
    published = Bulletin.objects.filter(neighbourhood=demo, status=BulletinStatus.PUBLISHED)
    assert sorted(published.values_list("date", flat=True)) == [
        today - timezone.timedelta(days=n) for n in range(7, 0, -1)
    ]
    convention = Notice.objects.get(neighbourhood=demo, kind=NoticeKind.CONVENTION)
    assert len(convention.articles) == 8
    # Idempotent: loading again adds nothing.
    for loader in demo_loaders():
        loader(neighbourhood=demo, stdout=StringIO())
    assert Notice.objects.filter(neighbourhood=demo, kind=NoticeKind.CONVENTION).count() == 1


@pytest.mark.django_db
def test_no_resident_data_in_any_published_output(demo):
    from jiayuan.accounts.models import User

    head = User.objects.get(username="head")
    today = timezone.localdate()
    bulletin = services.bulletin_compose(actor=head, neighbourhood=demo, date=today)
    services.bulletin_publish(
        actor=head,
        bulletin=bulletin,
        note="今天辛苦了",
        notice_ids=list(Notice.objects.filter(neighbourhood=demo).values_list("id", flat=True)),
    )
    key = demo.bulletin_channel.key
    client = Client()
    outputs = [client.get(reverse("bulletin:public_archive", args=[key])).content.decode()]
    for b in Bulletin.objects.filter(neighbourhood=demo, status=BulletinStatus.PUBLISHED):
        for name in ("bulletin:public_day", "bulletin:public_print"):
            r = client.get(reverse(name, args=[key, b.date.isoformat()]))
            assert r.status_code == 200
            outputs.append(r.content.decode())
        png = client.get(reverse("bulletin:public_png", args=[key, b.date.isoformat()]))
        assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    for n in Notice.objects.filter(neighbourhood=demo):
        outputs.append(client.get(reverse("bulletin:public_notice", args=[key, n.pk])).content.decode())
    outputs.append(client.get("/api/v1/bulletins?limit=100", **bearer(head)).content.decode())
    outputs.append(repr(list(Bulletin.objects.filter(neighbourhood=demo).values_list("sections", "notices"))))
    text = "\n".join(outputs)
    assert "抗疫日报" in text and "新增阳性" in text  # the outputs are the real thing

    residents = list(Resident.objects.filter(neighbourhood=demo))
    assert len(residents) > 1000
    leaks = [r.name for r in residents if len(r.name) >= 2 and r.name in text]
    leaks += [r.phone for r in residents if r.phone and r.phone in text]
    leaks += [r.id_number for r in residents if r.id_number and r.id_number in text]
    rooms = {h.label for h in Household.objects.filter(neighbourhood=demo)}
    leaks += [room for room in rooms if room in text]
    assert not leaks, leaks[:10]
    # No small count of people shows as a number: every people-figure is 0, ≥ 3 or "少量".
    for b in Bulletin.objects.filter(neighbourhood=demo):
        for s in b.sections:
            for f in s["figures"]:
                if f["people"]:
                    assert f["value"] is None or f["value"] == 0 or f["value"] >= 3
                    assert re.fullmatch(r"少量|—|0.*|[3-9].*|\d{2,}.*", f["display"])
