"""Antigen self-reports: photos, the household link's fast path, confirmation, photo retention."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import mimetypes

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone

from jiayuan.accounts.models import HouseholdLink
from jiayuan.accounts.services import household_link_used
from jiayuan.control.selectors import residents_with_open_case
from jiayuan.core import context, rawsql
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.core.extensions import publish
from jiayuan.core.models import AuditEvent
from jiayuan.people.models import Resident
from jiayuan.places.models import Household
from jiayuan.screening.choices import (
    AntigenResult,
    ReportChannel,
    RetestStatus,
)
from jiayuan.screening.models import (
    AntigenReport,
    Retest,
)
from jiayuan.screening.services._shared import PHOTO_MAX_BYTES, PHOTO_TYPES

# --- Antigen self-reports -------------------------------------------------------------------------


def check_photo(photo) -> None:
    if photo is None:
        return
    if photo.size > PHOTO_MAX_BYTES:
        raise ValidationError({"photo": ["照片不能超过5MB"]})
    content_type = getattr(photo, "content_type", "") or ""
    if content_type and content_type not in PHOTO_TYPES:
        raise ValidationError({"photo": ["请上传 JPG/PNG/WEBP/HEIC 照片"]})


def antigen_photo_open(*, actor, report: AntigenReport):
    """Open a report's photo for a staff user who may see the report; the read is audited (a photo
    of a test result is health data). Returns ``(file, content_type)``; ``Http404`` without one."""
    if not report.photo:
        raise Http404
    try:
        handle = report.photo.open("rb")
    except OSError as exc:
        raise Http404 from exc
    audit_record(actor=actor, action="screening.antigen_photo_view", obj=report)
    return handle, mimetypes.guess_type(report.photo.name)[0] or "application/octet-stream"


@transaction.atomic
def antigen_report_submit(
    *,
    actor,
    resident: Resident,
    date: dt.date,
    result: str,
    photo=None,
    channel: str = ReportChannel.HOUSEHOLD,
) -> tuple[AntigenReport, bool]:
    """Record one resident's antigen result for a day; a second report the same day replaces the
    first (audited as an update). Returns the report and whether it was created.

    A new positive is not a case by itself: the resident joins the retest list (an antigen
    ``Retest``, unless one is still pending or the resident already has an open case) and
    ``screening.antigen_positive`` is published, on which control keeps the resident (and the
    household, per the policy) home under 抗原阳性待核酸复核. The case opens on a positive PCR
    retest or when staff confirm the report (``antigen_report_confirm``)."""
    errors: dict[str, list[str]] = {}
    if result not in AntigenResult.values:
        errors["result"] = ["结果应为阴性、阳性或无效"]
    today = timezone.localdate()
    if date > today:
        errors["date"] = ["不能填报未来的日期"]
    elif (today - date).days > 7:
        errors["date"] = ["只能填报最近7天的结果"]
    if errors:
        raise ValidationError(errors)
    check_photo(photo)
    # Lock the resident so two reports for the same person and day are serialised.
    Resident.objects.select_for_update().filter(pk=resident.pk).values_list("pk", flat=True).first()
    report = AntigenReport.objects.filter(resident=resident, date=date).first()
    created = report is None
    before = None if created else report.result
    if created:
        report = AntigenReport(
            neighbourhood_id=resident.neighbourhood_id,
            building_id=resident.household.building_id if resident.household_id else None,
            resident=resident,
            date=date,
        )
    report.result = result
    report.channel = channel
    report.reported_by = _user(actor)
    if photo is not None and report.photo:
        # The replaced photo is health data too: its file goes once the new one is committed.
        _delete_files_on_commit([report.photo.name])
    if photo is not None:
        report.photo.save(f"r{resident.pk}-{date:%Y%m%d}-{photo.name[-20:]}", photo, save=False)
    try:
        report.save()
        audit_record(
            actor=actor if actor is not None else "household-link",
            action="screening.antigen_report" if created else "screening.antigen_report_update",
            obj=report,
            changes={"result": result, "before": before, "channel": channel, "photo": bool(photo)},
        )
        if result == AntigenResult.POSITIVE and before != AntigenResult.POSITIVE:
            _antigen_positive(actor=actor, report=report, resident=resident)
    except BaseException:
        # The report rolls back: the photo file just written must not stay behind, unreferenced.
        if photo is not None:
            with contextlib.suppress(OSError):
                report.photo.storage.delete(report.photo.name)
        raise
    return report, created


def antigen_report_fast(
    *,
    household_id: int | None = None,
    resident_id: int,
    date: dt.date,
    result: str,
    channel: str = ReportChannel.HOUSEHOLD,
    link: tuple[int, str] | None = None,
) -> str | None:
    """A household's first negative or invalid report of the day for one of its residents, in ONE
    statement (PostgreSQL; ADR 0019): the report and its audit event (as ``antigen_report_submit``
    writes them), ``INSERT … ON CONFLICT DO NOTHING`` on ``(resident, date)``. Returns the
    resident's name, or ``None`` when the caller must take ``antigen_report_submit``, which gives
    the exact answer: a positive (the retest list, the event), a photo, a second report the same
    day (an update), a resident not of this household, a date outside the last 7 days, SQLite, a
    caller's transaction, or a report table with columns this statement does not know.

    ``link``: the household link's ``(id, nonce)`` (``accounts.services.household_link_parse``)
    instead of ``household_id``: the link is then read by the same statement — live (not revoked,
    the same nonce) and the resident of its household, else nothing is written and None — and its
    use recorded as ``household_link_resolve`` records it (ADR 0023)."""
    today = timezone.localdate()
    whose_ok = link is not None or (household_id is not None and 0 < household_id < 2**63)
    if (
        connection.vendor != "postgresql"
        or connection.in_atomic_block
        or result not in (AntigenResult.NEGATIVE, AntigenResult.INVALID)
        or not 0 <= (today - date).days <= 7
        or not (0 < resident_id < 2**63 and whose_ok)
    ):
        return None
    now = timezone.now()
    values = {
        "neighbourhood_id": "p.neighbourhood_id",
        "building_id": "p.building_id",
        "resident_id": "p.id",
        "date": "%(date)s",
        "result": "%(result)s",
        "photo": "''",
        "channel": "%(channel)s",
        "reported_by_id": "NULL",
        "confirmed_at": "NULL",
        "confirmed_by_id": "NULL",
        "created_at": "%(now)s",
        "updated_at": "%(now)s",
    }
    fields = [f for f in AntigenReport._meta.concrete_fields if not f.primary_key]
    if {f.attname for f in fields} != set(values):
        return None  # the model changed: the ORM path knows it
    qn = connection.ops.quote_name
    ctx = context.current()
    if link is None:
        whose = "r.household_id = %(household)s"
        link_cols, link_join = "NULL::timestamptz AS last_used_at", ""
    else:
        whose = "l.id = %(link)s AND l.nonce = %(nonce)s AND l.revoked_at IS NULL"
        link_cols = "l.last_used_at AS last_used_at"
        link_join = f"JOIN {qn(HouseholdLink._meta.db_table)} l ON l.household_id = r.household_id "
    sql = (
        f"WITH p AS (SELECT r.id, r.name, r.neighbourhood_id, h.building_id, {link_cols} "  # noqa: S608
        f"FROM {qn(Resident._meta.db_table)} r JOIN {qn(Household._meta.db_table)} h ON h.id = r.household_id "
        f"{link_join}WHERE r.id = %(resident)s AND {whose}), "
        f"i AS (INSERT INTO {qn(AntigenReport._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
        f"SELECT {', '.join(values[f.attname] for f in fields)} FROM p ON CONFLICT DO NOTHING "
        "RETURNING id, resident_id, neighbourhood_id), "
        f"a AS (INSERT INTO {qn(AuditEvent._meta.db_table)} (created_at, actor_id, actor_label, action, object_type, "
        "object_id, object_repr, neighbourhood_id, changes, ip, user_agent, channel) "
        "SELECT %(now)s, NULL, 'household-link', 'screening.antigen_report', %(type)s, i.id::text, "
        "'#' || i.resident_id || ' ' || %(date_text)s || ' ' || %(result)s, i.neighbourhood_id, %(changes)s::jsonb, "
        "%(ip)s, %(ua)s, %(ctx_channel)s FROM i) "
        "SELECT p.name, p.last_used_at FROM p, i"
    )
    params = {
        "resident": resident_id,
        "household": household_id or 0,
        "link": link[0] if link else 0,
        "nonce": link[1] if link else "",
        "date": date,
        "date_text": date.isoformat(),
        "result": result,
        "channel": channel,
        "now": now,
        "type": AntigenReport._meta.label_lower,
        "changes": json.dumps({"result": result, "before": None, "channel": channel, "photo": False}),
        "ip": ctx.ip,
        "ua": ctx.user_agent,
        "ctx_channel": ctx.channel,
    }
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    if row is None:
        return None
    if link is not None:
        household_link_used(link[0], row[1])
    return row[0]


def _antigen_positive(*, actor, report: AntigenReport, resident: Resident) -> None:
    if resident.pk in residents_with_open_case([resident.pk]):
        return  # already a case: the case's rules apply, nothing to retest
    pending = Retest.objects.filter(
        resident=resident, antigen_report__isnull=False, status__in=(RetestStatus.PENDING, RetestStatus.SAMPLED)
    ).exists()
    if not pending:
        retest = Retest.objects.create(
            neighbourhood_id=report.neighbourhood_id,
            building_id=report.building_id,
            resident=resident,
            antigen_report=report,
            home_control=True,
        )
        audit_record(
            actor=actor if actor is not None else "household-link",
            action="screening.retest_list",
            obj=retest,
            changes={"antigen_report": report.pk, "home_control": True},
        )
    publish(
        "screening.antigen_positive",
        resident=resident,
        detected_on=report.date,
        actor=_user(actor),
        ref=f"抗原自测 {report.date:%m-%d}",
        report=report,
    )


MSG_NOT_POSITIVE = "只有阳性的抗原报告需要确认"
MSG_ALREADY_CONFIRMED = "该抗原阳性报告已确认"


@transaction.atomic
def antigen_report_confirm(*, actor, report: AntigenReport, note: str = "") -> AntigenReport:
    """Staff confirm a positive antigen report (seen the photo, called the resident …): the case
    opens now (``screening.positive``, source antigen), without waiting for the PCR retest; the
    report's pending retest is resolved as confirmed. Audited. The caller checks the permission
    (``MANAGE_CASES``)."""
    report = (
        AntigenReport.objects.select_for_update(of=("self",)).select_related("resident__household").get(pk=report.pk)
    )
    if report.result != AntigenResult.POSITIVE:
        raise ValidationError({"__all__": [MSG_NOT_POSITIVE]})
    if report.confirmed_at is not None:
        raise ValidationError({"__all__": [MSG_ALREADY_CONFIRMED]})
    now = timezone.now()
    report.confirmed_at = now
    report.confirmed_by = _user(actor)
    report.save(update_fields=["confirmed_at", "confirmed_by", "updated_at"])
    resolved = Retest.objects.filter(
        resident_id=report.resident_id,
        antigen_report__isnull=False,
        status__in=(RetestStatus.PENDING, RetestStatus.SAMPLED),
    ).update(status=RetestStatus.CONFIRMED, resolved_at=now, home_control=False)
    audit_record(
        actor=actor,
        action="screening.antigen_confirm",
        obj=report,
        changes={"retests_resolved": resolved, "note": (note or "").strip()[:200]},
    )
    publish(
        "screening.positive",
        resident=report.resident,
        detected_on=report.date,
        source="antigen",
        actor=_user(actor),
        ref=f"抗原自测 {report.date:%m-%d} 经工作人员确认",
    )
    return report


def _delete_files_on_commit(names: list[str]) -> None:
    storage = AntigenReport._meta.get_field("photo").storage

    def delete() -> None:
        for name in names:
            # Already gone, or the disk refuses: the row no longer points at it either way.
            with contextlib.suppress(OSError):
                storage.delete(name)

    transaction.on_commit(delete)


def antigen_photos_purge(now: dt.datetime, dry_run: bool, progress=None) -> int:
    """Retention rule (``jiayuan purge``): delete the photos of antigen reports older than
    ``JIAYUAN_ANTIGEN_PHOTO_DAYS`` days — the file and the row's pointer; the result is kept."""
    from django.conf import settings

    cutoff = timezone.localdate(now) - dt.timedelta(days=settings.JIAYUAN_ANTIGEN_PHOTO_DAYS)
    qs = AntigenReport.objects.filter(date__lt=cutoff).exclude(photo="")
    if dry_run:
        return qs.count()
    removed = 0
    last = 0
    while batch := list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", "photo")[:500]):
        last = batch[-1][0]
        with transaction.atomic():
            # Row by row on the name read: a photo replaced meanwhile is the new one, and stays.
            gone = [name for pk, name in batch if AntigenReport.objects.filter(pk=pk, photo=name).update(photo="")]
            _delete_files_on_commit(gone)
        removed += len(gone)
        if progress is not None:
            progress(len(gone))
    return removed
