"""The ready-to-send reminder per building on the missed list fits the building: a sealed building
and the homebound are told to wait at home for door-to-door sampling, and once the round's
window has passed the text gives no time that has passed."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from jiayuan.control import services as control_services
from jiayuan.screening import selectors, services

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def test_reminder_text_by_building_and_clock(round_, building, frozen):
    before, after = _at(frozen, 8, 30), _at(frozen, 11, 30)
    text = selectors.reminder_message(round_=round_, building=building, missed=3, station="南门采样点", now=before)
    assert "还有3位居民未做核酸检测" in text and "今天 11:00 前到南门采样点采样" in text
    late = selectors.reminder_message(round_=round_, building=building, missed=3, now=after)
    assert "11:00" not in late and "采样时间已过" in late

    sealed = selectors.reminder_message(round_=round_, building=building, missed=3, sealed=True, now=before)
    assert "封控楼" in sealed and "请在家等候上门采样" in sealed and "不要下楼" in sealed and "11:00" in sealed
    sealed_late = selectors.reminder_message(round_=round_, building=building, missed=3, sealed=True, now=after)
    assert "请在家等候上门采样" in sealed_late and "11:00" not in sealed_late
    assert "采样点" not in sealed and "采样点" not in sealed_late

    home = selectors.reminder_message(round_=round_, building=building, missed=3, homebound=2, now=before)
    assert "(2人)请在家等候上门采样" in home

    # A round for tomorrow says tomorrow; a finished round gives no time at all.
    tomorrow = services.round_create(actor=None, neighbourhood=round_.neighbourhood, date=frozen + dt.timedelta(days=1))
    assert "明天 11:00 前" in selectors.reminder_message(round_=tomorrow, building=building, missed=1, now=before)
    services.round_finish(actor=None, round_=round_)
    done = selectors.reminder_message(round_=round_, building=building, missed=3, now=before)
    assert "漏做" in done and "11:00" not in done


def test_missed_page_reminders_know_sealed_buildings_and_the_homebound(
    client, frozen, time_machine, staff, round_, building, building2, household, household2, make_resident
):
    make_resident(household, name="甲一")
    make_resident(household2, name="乙一")
    make_resident(household2, name="乙卧床", tags=["bedridden"])
    sick = make_resident(household, name="甲阳")
    control_services.case_record(actor=staff, resident=sick, detected_on=frozen, source="pcr_round")
    client.force_login(staff)
    page = client.get(f"/screening/{round_.pk}/missed/").content.decode()
    reminders = page[page.index('id="reminders"') :]
    first = reminders[reminders.index(building.name + "为封控楼") :]
    assert first.index("请在家等候上门采样") < first.index("</div>")
    second = reminders[reminders.index(building2.name + "还有2位") :]
    assert "(1人)请在家等候上门采样" in second[: second.index("</div>")]
    assert "含1人需上门" in reminders

    # After the round's end time, no time is given any more.
    time_machine.move_to(timezone.make_aware(dt.datetime.combine(frozen, dt.time(12, 0))), tick=False)
    page = client.get(f"/screening/{round_.pk}/missed/").content.decode()
    reminders = page[page.index('id="reminders"') :]
    assert "11:00" not in reminders and "采样时间已过" in reminders
