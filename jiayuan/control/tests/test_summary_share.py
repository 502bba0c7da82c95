"""防疫汇总统计表 and 家庭隔离分布图: the WeChat text (counts only), the xlsx exports, the copy and
print markup."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import io
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from jiayuan.control import services
from jiayuan.control.choices import CaseSource, QuarantineReason
from jiayuan.control.tests.conftest import TODAY
from jiayuan.core.models import AuditEvent
from jiayuan.core.permissions import Role
from jiayuan.places import services as places_services
from jiayuan.screening import services as screening_services
from jiayuan.screening.codes import sampling_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(frozen, building, building2, household, household2, resident, resident2, head):
    """A case found today in building 1 (王阳), a returnee in quarantine in building 2 (李密)."""
    case = services.case_record(actor=None, resident=resident, detected_on=TODAY, source=CaseSource.PCR_ROUND)
    old = services.case_record(
        actor=None, resident=resident2, detected_on=TODAY - dt.timedelta(days=3), source=CaseSource.PCR_ROUND
    )
    services.case_void(actor=head, case=old, reason="误登记")
    services.quarantine_start(actor=None, reason=QuarantineReason.RETURNEE_RISK_AREA, resident=resident2)
    return {"case": case}


def _share_text(response) -> str:
    match = re.search(r'<textarea id="share-text"[^>]*>(.*?)</textarea>', response.content.decode(), re.S)
    assert match, "no share text on the page"
    return htmllib.unescape(match.group(1))


def test_summary_offers_counts_only_text_with_a_copy_button(client, head, world):
    client.force_login(head)
    response = client.get(reverse("control:summary"))
    assert response.status_code == 200
    text = _share_text(response)
    assert text.startswith("【泰和居民区 防疫日报 2022-04-20】")
    assert "今日新增阳性 1 人" in text  # the voided case of 3 days ago is not counted
    assert "在管病例 1 人" in text
    assert "封控楼 1 栋" in text
    assert "居家隔离" in text
    assert "王阳" not in text and "李密" not in text and "301" not in text
    html = response.content.decode()
    assert 'data-copy-target="#share-text"' in html
    assert "onclick" not in html
    assert "data-print" in html
    assert 'class="print-landscape"' in html
    assert reverse("control:summary_export") in html


def test_summary_text_includes_todays_round_completion(client, head, world, resident, resident2, make_user):
    round_ = screening_services.round_create(actor=head, neighbourhood=resident.neighbourhood, date=TODAY, pool_size=5)
    sampler = make_user(Role.SAMPLER, resident.neighbourhood)
    screening_services.sample_scan(
        actor=sampler, round_=round_, tube_barcode="T0001", resident_code=sampling_code(resident2.pk)
    )
    client.force_login(head)
    text = _share_text(client.get(reverse("control:summary")))
    assert re.search(r"今日核酸完成 \d+%", text)


def test_summary_xlsx_holds_the_table_with_neutralised_text(client, head, world, neighbourhood):
    evil = places_services.compound_create(actor=None, neighbourhood=neighbourhood, name='=HYPERLINK("http://x","y")')
    places_services.building_create(actor=None, compound=evil, number="9", floors=3)
    client.force_login(head)
    before = AuditEvent.objects.count()
    response = client.get(reverse("control:summary_export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    wb = load_workbook(io.BytesIO(response.content))
    ws = wb.active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0].startswith("防疫汇总统计表 · 泰和居民区 · 2022-04-20")
    header = rows[1]
    assert header[0] == "楼栋" and "病例合计" in header
    labels = [r[0] for r in rows[2:]]
    assert "泰和苑 1号楼" in labels
    assert labels[-1] == "合计"
    assert all(not (isinstance(v, str) and v.startswith("=")) for r in rows for v in r)
    assert any(isinstance(v, str) and v.startswith("'=HYPERLINK") for r in rows for v in r)
    cases_col = header.index("病例合计")
    assert rows[-1][cases_col] == 1
    assert ws.page_setup.orientation == "landscape"
    # Aggregates only: nothing about a resident, so no audit row is needed.
    assert AuditEvent.objects.count() == before
    assert "王阳" not in str(rows)


def test_street_officer_gets_the_per_neighbourhood_summary_and_export(
    client, make_user, street, world, other_neighbourhood
):
    client.force_login(make_user(Role.STREET_OFFICER, street))
    text = _share_text(client.get(reverse("control:summary")))
    assert text.startswith("【各居民区合计 防疫日报")
    rows = list(load_workbook(io.BytesIO(client.get(reverse("control:summary_export")).content)).active.values)
    assert rows[1][0] == "居民区"
    assert rows[2][0] == "泰和居民区"


def test_summary_export_is_scoped(client, make_user, other_neighbourhood, neighbourhood, world):
    outsider = make_user(Role.COMMITTEE_HEAD, other_neighbourhood)
    client.force_login(outsider)
    url = reverse("control:summary_export") + f"?neighbourhood={neighbourhood.pk}"
    assert client.get(url).status_code == 404
    client.force_login(make_user())  # no role at all
    assert client.get(reverse("control:summary_export")).status_code == 404
    assert client.get(reverse("control:map_export")).status_code == 404


def test_map_offers_text_and_xlsx_without_rooms_or_names(client, head, world, household):
    client.force_login(head)
    response = client.get(reverse("control:map"))
    text = _share_text(response)
    assert "家庭隔离分布" in text
    assert "封控楼 1 栋" in text
    assert "封控区: 1号楼" in text
    assert "重点户" in text and "阳性 1 户" in text
    assert "王阳" not in text and "301" not in text
    assert reverse("control:map_export") in response.content.decode()

    # With "focus", quiet buildings are hidden from the map but still counted in the text.
    focus_text = _share_text(client.get(reverse("control:map") + "?focus=1"))
    assert re.search(r"防范楼 (\d+) 栋", focus_text).group(1) == re.search(r"防范楼 (\d+) 栋", text).group(1)

    data = client.get(reverse("control:map_export"))
    assert data.status_code == 200
    rows = list(load_workbook(io.BytesIO(data.content)).active.values)
    header = rows[1]
    assert header[:5] == ("小区", "楼栋", "分区", "住户数", "重点户")
    b1 = next(r for r in rows if r[1] == "1号楼")
    assert b1[2] == "封控区" and b1[4] == 1
    assert rows[-1][0] == "合计"
    assert "王阳" not in str(rows) and "301" not in str(rows)


def test_every_copy_button_goes_through_copy_js():
    """No template calls the clipboard itself (undefined on a plain-HTTP LAN address, and inline
    code the Content-Security-Policy refuses): each 复制 button names what copy.js copies."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    buttons = 0
    for template in root.rglob("templates/**/*.html"):
        text = template.read_text(encoding="utf-8")
        assert "navigator.clipboard" not in text, template
        for button in re.findall(r"<button[^>]*>[^<]*复制[^<]*</button>", text):
            buttons += 1
            assert "data-copy" in button, (template, button)
            assert "onclick" not in button, (template, button)
    assert buttons >= 5  # missed reminders, plan notices, credentials, household link, share text
