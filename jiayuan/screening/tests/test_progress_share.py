"""A round's progress: the WeChat text (counts only) and the xlsx export."""

from __future__ import annotations

import html as htmllib
import io
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.screening import services
from jiayuan.screening.tests.conftest import code

pytestmark = pytest.mark.django_db


@pytest.fixture
def sampled(round_, residents, sampler):
    """Three of building 1's four present residents sampled; building 2 not at all."""
    for r in residents["b1"][:3]:
        services.sample_scan(actor=sampler, round_=round_, tube_barcode="T100", resident_code=code(r))
    return round_


def _share_text(response) -> str:
    match = re.search(r'<textarea id="share-text"[^>]*>(.*?)</textarea>', response.content.decode(), re.S)
    assert match, "no share text on the page"
    return htmllib.unescape(match.group(1))


def test_progress_page_offers_counts_only_text(client, staff, sampled, residents):
    client.force_login(staff)
    response = client.get(reverse("screening:round", args=[sampled.pk]))
    text = _share_text(response)
    assert "应检 7 人, 已采 3 人, 未采 4 人" in text
    assert "完成 43%" in text
    assert "未采较多: 泰和苑 2号楼 3 人、泰和苑 1号楼 1 人" in text
    assert not any(r.name in text for r in residents["b1"] + residents["b2"])
    html = response.content.decode()
    assert 'data-copy-target="#share-text"' in html
    assert reverse("screening:round_export", args=[sampled.pk]) in html
    # The 10-second poll returns the progress part only, without recomputing the text.
    partial = client.get(reverse("screening:round", args=[sampled.pk]), headers={"HX-Request": "true"})
    assert "share-text" not in partial.content.decode()


def test_progress_xlsx(client, staff, sampled):
    client.force_login(staff)
    before = AuditEvent.objects.count()
    response = client.get(reverse("screening:round_export", args=[sampled.pk]))
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.values)
    assert rows[1] == ("楼栋", "应检", "已采", "未采", "免检", "复核", "进度(%)")
    assert rows[2][:4] == ("泰和苑 1号楼", 4, 3, 1)
    assert rows[-1][:4] == ("合计", 7, 3, 4)
    assert AuditEvent.objects.count() == before  # counts only


def test_progress_export_is_scoped(client, make_user, other_neighbourhood, sampled):
    client.force_login(make_user(Role.COMMITTEE_HEAD, other_neighbourhood))
    assert client.get(reverse("screening:round_export", args=[sampled.pk])).status_code == 404
