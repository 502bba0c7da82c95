"""Appointment campaigns, their windows and the households' bookings."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from jiayuan.control.selectors import household_may_go_out
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.places.models import Household, Neighbourhood
from jiayuan.supplies.choices import (
    BookingMode,
)
from jiayuan.supplies.models import (
    AppointmentCampaign,
    AppointmentWindow,
    Booking,
)
from jiayuan.supplies.services._shared import SoldOutError, _positive_int, require_may_go_out

# Appointments ------------------------------------------------------------------------------


@transaction.atomic
def campaign_create(
    *,
    actor,
    neighbourhood: Neighbourhood,
    title: str,
    item_name: str,
    quota_per_household: int,
    voucher_prefix: str = "KZ",
) -> AppointmentCampaign:
    if not (title or "").strip():
        raise ValidationError({"title": ["请填写名称"]})
    if not (item_name or "").strip():
        raise ValidationError({"item_name": ["请填写物资"]})
    quota = _positive_int(quota_per_household, "quota_per_household")
    prefix = "".join(ch for ch in (voucher_prefix or "KZ").upper() if ch.isalnum())[:8] or "KZ"
    campaign = AppointmentCampaign.objects.create(
        neighbourhood=neighbourhood,
        title=title.strip()[:100],
        item_name=item_name.strip()[:100],
        quota_per_household=quota,
        voucher_prefix=prefix,
        created_by=_user(actor),
    )
    audit_record(actor=actor, action="supplies.campaign_create", obj=campaign, changes={"quota": quota})
    return campaign


@transaction.atomic
def window_create(
    *, actor, campaign: AppointmentCampaign, place: str, starts_at: dt.datetime, ends_at: dt.datetime, capacity: int
) -> AppointmentWindow:
    if not (place or "").strip():
        raise ValidationError({"place": ["请填写领取地点"]})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": ["结束时间应晚于开始时间"]})
    cap = _positive_int(capacity, "capacity")
    window = AppointmentWindow.objects.create(
        neighbourhood_id=campaign.neighbourhood_id,
        campaign=campaign,
        place=place.strip()[:100],
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=cap,
    )
    audit_record(
        actor=actor, action="supplies.window_create", obj=campaign, changes={"window": window.pk, "capacity": cap}
    )
    return window


def booking_create(
    *,
    actor,
    window: AppointmentWindow,
    household: Household,
    quantity: int,
    mode: str = BookingMode.PICKUP,
) -> Booking:
    """Book a scarce item in a window. One booking per household per campaign, within the
    quota; the window row is locked while its capacity is checked and its voucher numbered."""
    qty = _positive_int(quantity, "quantity")
    if mode not in BookingMode.values:
        raise ValidationError({"mode": ["不是可选值之一"]})
    with transaction.atomic():
        w = AppointmentWindow.objects.select_for_update().select_related("campaign").get(pk=window.pk)
        campaign = w.campaign
        if household.neighbourhood_id != w.neighbourhood_id:
            raise ValidationError({"household": ["住户不属于该居民区"]})
        if qty > campaign.quota_per_household:
            raise ValidationError({"quantity": [f"每户限约{campaign.quota_per_household}"]})
        if w.ends_at <= timezone.now():
            raise ValidationError({"window": ["该时段已结束"]})
        if Booking.objects.filter(campaign=campaign, household=household).exists():
            raise ValidationError({"household": ["本户已经预约过,不能重复预约"]})
        if mode == BookingMode.PICKUP:
            require_may_go_out(household, field="mode")
        if w.booked >= w.capacity:
            raise SoldOutError({"window": ["该时段已约满"]})
        w.booked += 1
        w.save(update_fields=["booked"])
        voucher = f"{campaign.voucher_prefix}{timezone.localtime(w.starts_at):%Y%m%d}-{w.pk:03d}-{w.booked:04d}"
        try:
            with transaction.atomic():
                booking = Booking.objects.create(
                    neighbourhood_id=w.neighbourhood_id,
                    campaign=campaign,
                    window=w,
                    household=household,
                    building_id=household.building_id,
                    quantity=qty,
                    voucher=voucher,
                    mode=mode,
                    booked_by=_user(actor),
                )
        except IntegrityError as exc:  # a concurrent booking of the same household won
            raise ValidationError({"household": ["本户已经预约过,不能重复预约"]}) from exc
        audit_record(
            actor=actor,
            action="supplies.booking_create",
            obj=booking,
            changes={"window": w.pk, "household": household.pk, "quantity": qty, "mode": mode},
        )
    return booking


@transaction.atomic
def booking_collect(*, actor, booking: Booking, by_proxy: bool = False) -> Booking:
    """The voucher is handed in and the item handed out. A booking made for the household to
    collect itself is refused if the household may no longer go out (its building was sealed
    since, a member is in home quarantine): a volunteer collects it for them (``by_proxy``),
    which turns the booking into a proxy one."""
    booking = Booking.objects.select_for_update().select_related("household").get(pk=booking.pk)
    if booking.collected_at is not None:
        raise ValidationError("该凭证已经领取")
    before = booking.mode
    if by_proxy:
        booking.mode = BookingMode.PROXY
    elif booking.mode == BookingMode.PICKUP:
        may, reason = household_may_go_out(booking.household)
        if not may:
            raise ValidationError({"mode": [f"{reason}(请由志愿者代领,点“代领”登记)"]})
    booking.collected_at = timezone.now()
    booking.save(update_fields=["collected_at", "mode"])
    audit_record(
        actor=actor,
        action="supplies.booking_collect",
        obj=booking,
        changes={"mode": [before, booking.mode]} if before != booking.mode else {},
    )
    return booking
