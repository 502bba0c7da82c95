"""Writes of the gates app: gate states, the one-scan passage, passes, returnees at the gate, parcels.

The passage (``passage_record``) is the hot path of a morning peak: a guard has seconds per
person. It reads the gate with its settings, the scanned resident (only the columns it needs),
control's decision for the household (``household_zone_and_go_out``: the zone level and the
household's go-out decision in one query; gates has no copy of those rules), and the pass under a row lock when one is
involved; then it inserts the passage and its audit event. See ADR 0021.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiayuan.control import services as control_services
from jiayuan.control.choices import ZoneLevel
from jiayuan.control.selectors import household_go_out_decision, household_zone_and_go_out
from jiayuan.core import rawsql
from jiayuan.core.audit import audit_record, audit_values
from jiayuan.core.idempotency import MAX_KEY_LENGTH, MSG_BAD_KEY
from jiayuan.core.models import AuditEvent
from jiayuan.gates.choices import (
    FEVER_THRESHOLD,
    Direction,
    GateState,
    ParcelStatus,
    PassKind,
    Reason,
    Restriction,
    Subject,
    VehiclePurpose,
)
from jiayuan.gates.models import Gate, GatePassage, GateSettings, GateStateChange, Parcel, Pass
from jiayuan.people import normalize
from jiayuan.people import services as people_services
from jiayuan.people.choices import Presence
from jiayuan.people.models import Resident
from jiayuan.places.models import Household
from jiayuan.screening.codes import parse_sampling_code

__all__ = [
    "GateConflict",
    "PassageOutcome",
    "Who",
    "gate_create",
    "gate_set_state",
    "parcel_deliver",
    "parcel_disinfect",
    "parcel_pickup",
    "parcel_register",
    "pass_issue",
    "pass_revoke",
    "passage_record",
    "resolve_code",
    "returnee_at_gate",
    "settings_for",
    "settings_update",
]

MSG_UNKNOWN_CODE = "无法识别的居民码或通行证, 请核对或按楼栋房号查找"
MSG_TEMPERATURE = "体温应在 34.0 至 43.0 ℃ 之间"
PASS_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105 (not a password)


class GateConflict(Exception):
    """A state conflict the caller cannot fix by changing the input (HTTP 409 with ``code``)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


# --- Settings and gates ------------------------------------------------------------------------


def settings_for(neighbourhood_id: int) -> GateSettings:
    """The neighbourhood's gate settings, or the defaults (unsaved) when it has none."""
    return GateSettings.objects.filter(neighbourhood_id=neighbourhood_id).first() or GateSettings(
        neighbourhood_id=neighbourhood_id
    )


@transaction.atomic
def settings_update(*, actor, neighbourhood, **values) -> GateSettings:
    """Change the neighbourhood's gate settings (fields of ``GateSettings``)."""
    fields = {"controlled_may_go_out", "pass_required", "presence_follows", "parcel_overdue_hours"}
    unknown = set(values) - fields
    if unknown:
        raise TypeError(f"settings_update got unexpected fields: {sorted(unknown)}")
    current = settings_for(neighbourhood.pk)
    changes = {}
    for field, value in values.items():
        if getattr(current, field) != value:
            changes[field] = [getattr(current, field), value]
            setattr(current, field, value)
    if values.get("parcel_overdue_hours") is not None and not 1 <= values["parcel_overdue_hours"] <= 240:
        raise ValidationError({"parcel_overdue_hours": ["滞留提醒应在 1 至 240 小时之间"]})
    current.save()
    audit_record(actor=actor, action="gates.settings_update", obj=current, changes=changes)
    return current


@transaction.atomic
def gate_create(*, actor, compound, name: str, note: str = "") -> Gate:
    """Add a gate post to a compound (open)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["请填写门岗名称"]})
    if Gate.objects.filter(compound=compound, name=name).exists():
        raise ValidationError({"name": ["本小区已有同名门岗"]})
    gate = Gate.objects.create(
        neighbourhood_id=compound.neighbourhood_id, compound=compound, name=name[:64], note=(note or "")[:200]
    )
    GateStateChange.objects.create(
        gate=gate,
        neighbourhood_id=gate.neighbourhood_id,
        compound_id=gate.compound_id,
        state=gate.state,
        note=gate.note,
        actor=_user(actor),
    )
    audit_record(actor=actor, action="gates.gate_create", obj=gate, changes={"compound": compound.pk})
    return gate


@transaction.atomic
def gate_set_state(
    *,
    actor,
    gate: Gate,
    state: str,
    note: str = "",
    restriction: str = "",
    open_from: dt.time | None = None,
    open_to: dt.time | None = None,
) -> Gate:
    """Open, close or restrict a gate; the change joins the gate's history."""
    errors: dict[str, list[str]] = {}
    if state not in GateState.values:
        errors["state"] = ["不是可选值之一: open, closed, restricted"]
    if state == GateState.RESTRICTED:
        restriction = restriction or Restriction.RESIDENTS_ONLY
        if restriction not in Restriction.values:
            errors["restriction"] = ["不是可选值之一: " + ", ".join(Restriction.values)]
        if restriction == Restriction.HOURS and (open_from is None or open_to is None or open_from == open_to):
            errors["open_from"] = ["限时开放请填写开放时间(起止不能相同)"]
    else:
        restriction, open_from, open_to = "", None, None
    if restriction != Restriction.HOURS:
        open_from = open_to = None
    if errors:
        raise ValidationError(errors)
    gate = Gate.objects.select_for_update().get(pk=gate.pk)
    before = gate.state_text
    gate.state, gate.restriction, gate.open_from, gate.open_to = state, restriction, open_from, open_to
    gate.note = (note or "").strip()[:200]
    gate.save()
    GateStateChange.objects.create(
        gate=gate,
        neighbourhood_id=gate.neighbourhood_id,
        compound_id=gate.compound_id,
        state=state,
        restriction=restriction,
        open_from=open_from,
        open_to=open_to,
        note=gate.note,
        actor=_user(actor),
    )
    changes = {"state": [before, gate.state_text], "note": gate.note}
    audit_record(actor=actor, action="gates.gate_state", obj=gate, changes=changes)
    return gate


# --- The passage -------------------------------------------------------------------------------


@dataclass
class PassageOutcome:
    """The answer to one scan: the stored passage and what the guard's screen says."""

    passage: GatePassage
    message: str
    name: str = ""
    place: str = ""
    replayed: bool = False

    @property
    def allowed(self) -> bool:
        return self.passage.allowed

    @property
    def reason(self) -> str | None:
        return self.passage.reason or None

    def as_dict(self) -> dict:
        return {"id": self.passage.pk, "allowed": self.allowed, "reason": self.reason, "message": self.message}


@dataclass
class Who:
    """Who is passing, as far as the decision needs: the household (a resident's own, a visitor's
    host) and its building."""

    resident_id: int | None = None
    name: str = ""
    household_id: int | None = None
    building_id: int | None = None
    building_name: str = ""
    room: str = ""
    presence: str = ""
    pass_: Pass | None = None
    # The zone level and control's go-out reason when the scan's own statement read them
    # (``selectors.scan_for_token``: control's statement as a subquery); None: ask control.
    zone: tuple[str, str | None] | None = None


def parse_temperature(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        t = Decimal(str(value)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        raise ValidationError({"temperature": [MSG_TEMPERATURE]}) from None
    if not Decimal("34.0") <= t <= Decimal("43.0"):
        raise ValidationError({"temperature": [MSG_TEMPERATURE]})
    return t


def clean_idempotency_key(key: str) -> str:
    key = (key or "").strip()
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationError({"idempotency_key": [MSG_BAD_KEY]})
    return key


def _gate_refusal(gate: Gate, subject: str, now: dt.datetime) -> str | None:
    """Why the gate itself turns this passage away (a Chinese sentence), or None."""
    if gate.state == GateState.CLOSED:
        return _("本门岗已关闭, 请走其他门岗")
    if gate.state != GateState.RESTRICTED:
        return None
    if gate.restriction == Restriction.VEHICLES_ONLY and subject != Subject.VEHICLE:
        return _("本门岗仅限车辆通行")
    if gate.restriction == Restriction.RESIDENTS_ONLY and subject != Subject.RESIDENT:
        return _("本门岗仅限本小区居民通行")
    if gate.restriction == Restriction.HOURS and gate.open_from and gate.open_to:
        t = timezone.localtime(now).time()
        start, end = gate.open_from, gate.open_to
        inside = start <= t < end if start < end else (t >= start or t < end)
        if not inside:
            return _("本门岗开放时间 %(start)s–%(end)s, 现在不能通行") % {
                "start": start.strftime("%H:%M"),
                "end": end.strftime("%H:%M"),
            }
    return None


def _household_refusal(who: Who, subject: str, settings: GateSettings) -> tuple[str, str] | None:
    """Control's decision for the household, as ``(reason, message)``: the zone of its building
    (sealed; controlled unless the settings let them out), then quarantine and home control."""
    if who.household_id is None:
        return None
    visitor = subject != Subject.RESIDENT
    # The zone level and control's decision in one query (the zone read once).
    if who.zone is not None:
        level, go_out = who.zone
    else:
        level, go_out = household_zone_and_go_out(Household(pk=who.household_id, building_id=who.building_id))
    place = who.building_name
    if level == ZoneLevel.SEALED:
        if visitor:
            return Reason.SEALED, _("%(place)s为封控区, 不能探访") % {"place": place}
        return Reason.SEALED, _("%(place)s为封控区, 足不出户, 不能外出") % {"place": place}
    if level == ZoneLevel.CONTROLLED and (visitor or not settings.controlled_may_go_out):
        if visitor:
            return Reason.CONTROLLED, _("%(place)s为管控区, 不接待访客") % {"place": place}
        return Reason.CONTROLLED, _("%(place)s为管控区, 人不出小区, 不能外出") % {"place": place}
    if go_out:
        if visitor:
            return Reason.QUARANTINE, _("被访住户有居家隔离或居家管控人员, 不能探访")
        return Reason.QUARANTINE, _("本户有居家隔离、居家健康监测或待转运人员, 不能外出")
    return None


def _period_start(p: Pass, today: dt.date) -> dt.date:
    days = max(p.period_days, 1)
    return p.valid_from + dt.timedelta(days=(today - p.valid_from).days // days * days)


def _take_pass(who: Who, today: dt.date) -> tuple[str, str] | tuple[None, str]:
    """Count one exit against the pass (locked) — ``(None, remaining message)`` — or say why not."""
    if who.pass_ is not None:
        candidates = list(Pass.objects.select_for_update().filter(pk=who.pass_.pk))
    else:
        # Row locks in primary-key order: two guards locking two passes of a household cannot deadlock.
        candidates = list(
            Pass.objects.select_for_update()
            .filter(household_id=who.household_id, revoked_at__isnull=True, valid_to__gte=today)
            .order_by("pk")
        )
        candidates = [p for p in candidates if p.resident_id in (None, who.resident_id)]
    valid = [p for p in candidates if p.revoked_at is None and p.valid_from <= today <= p.valid_to]
    if not valid:
        if who.pass_ is not None:
            return Reason.PASS_EXPIRED, _("通行证已过期或已作废, 不能外出")
        return Reason.PASS_EXPIRED, _("没有有效的通行证, 不能外出")
    for p in valid:
        start = _period_start(p, today)
        uses = p.period_uses if p.period_start == start else 0
        if uses < p.quota:
            Pass.objects.filter(pk=p.pk).update(period_start=start, period_uses=uses + 1)
            who.pass_ = p
            left = p.quota - uses - 1
            return None, _("通行证本期还可外出 %(n)d 次") % {"n": left}
    p = valid[0]
    next_start = _period_start(p, today) + dt.timedelta(days=max(p.period_days, 1))
    who.pass_ = p
    return Reason.PASS_QUOTA, _("通行证本期 %(quota)d 次已用完, %(day)s 起可再外出") % {
        "quota": p.quota,
        "day": next_start.strftime("%m-%d"),
    }


def resolve_code(gate: Gate, code: str) -> Who:
    """The resident a sampling code names (screening's code, one row, only the needed columns),
    or the household of a pass code; must live in the gate's neighbourhood."""
    text = (code or "").strip().upper().replace(" ", "")
    resident_id = parse_sampling_code(text)
    if resident_id is not None:
        row = (
            Resident.objects.filter(pk=resident_id, neighbourhood_id=gate.neighbourhood_id)
            .values_list(
                "name",
                "household_id",
                "household__building_id",
                "household__building__name",
                "household__room",
                "presence",
            )
            .first()
        )
        if row is None:
            raise ValidationError({"resident_code": [MSG_UNKNOWN_CODE]})
        return Who(resident_id, row[0], row[1], row[2], row[3] or "", row[4] or "", row[5])
    if text.startswith("P-"):
        p = (
            Pass.objects.filter(code=text[:16], neighbourhood_id=gate.neighbourhood_id)
            .select_related("building", "household", "resident")
            .first()
        )
        if p is not None:
            return Who(
                p.resident_id,
                p.resident.name if p.resident_id else "",
                p.household_id,
                p.building_id,
                p.building.name,
                p.household.room,
                p.resident.presence if p.resident_id else "",
                pass_=p,
            )
    raise ValidationError({"resident_code": [MSG_UNKNOWN_CODE]})


def resident_who(*, gate: Gate, resident: Resident) -> Who:
    """A resident the guard found by building and room (already fetched through their scope)."""
    if resident.neighbourhood_id != gate.neighbourhood_id:
        raise ValidationError({"resident": [MSG_UNKNOWN_CODE]})
    household = resident.household
    return Who(
        resident.pk,
        resident.name,
        resident.household_id,
        household.building_id if household else None,
        household.building.name if household else "",
        household.room if household else "",
        resident.presence,
    )


def _settings_of(gate: Gate) -> GateSettings:
    if getattr(gate, "scan_settings", None) is not None:  # read with the gate (selectors.gate_for_scan)
        return gate.scan_settings
    try:
        return gate.neighbourhood.gate_settings
    except (GateSettings.DoesNotExist, AttributeError):
        return GateSettings(neighbourhood_id=gate.neighbourhood_id)


def _clean_visitor(visitor: dict, gate: Gate) -> tuple[dict, Who]:
    errors: dict[str, list[str]] = {}
    name = normalize.clean_text(visitor.get("name") or "")[:64]
    if not name:
        errors["visitor.name"] = ["请填写访客姓名"]
    phone = ""
    try:
        phone = normalize.normalize_phone(visitor.get("phone") or "")
    except ValidationError as exc:
        errors["visitor.phone"] = exc.messages
    if not phone and "visitor.phone" not in errors:
        errors["visitor.phone"] = ["请填写访客电话"]
    purpose = normalize.clean_text(visitor.get("purpose") or "")[:100]
    if not purpose:
        errors["visitor.purpose"] = ["请填写来访事由"]
    host = None
    host_id = visitor.get("host_household")
    if host_id:
        host = (
            Household.objects.filter(pk=host_id, neighbourhood_id=gate.neighbourhood_id)
            .values_list("pk", "building_id", "building__name", "room")
            .first()
        )
    if host is None:
        errors["visitor.host_household"] = ["请选择被访住户(本居民区)"]
    if errors:
        raise ValidationError(errors)
    who = Who(household_id=host[0], building_id=host[1], building_name=host[2], room=host[3])
    return {"visitor_name": name, "visitor_phone": phone, "purpose": purpose}, who


def _clean_vehicle(vehicle: dict) -> dict:
    errors: dict[str, list[str]] = {}
    plate = "".join((vehicle.get("plate") or "").split()).upper()[:16]
    if not plate:
        errors["vehicle.plate"] = ["请填写车牌号"]
    purpose = vehicle.get("purpose") or VehiclePurpose.OTHER
    if purpose not in VehiclePurpose.values:
        errors["vehicle.purpose"] = ["不是可选值之一: " + ", ".join(VehiclePurpose.values)]
    if errors:
        raise ValidationError(errors)
    return {"plate": plate, "vehicle_purpose": purpose}


# How long after midnight a retry may still be of yesterday's scan (a scanner retries within
# seconds; the window only costs one lookup per scan while it lasts).
RETRY_ACROSS_MIDNIGHT = dt.time(0, 10)


_REPLAY_SQL: dict[str, tuple[list, str]] = {}


def _replay(gate: Gate, key: str, day: dt.date) -> PassageOutcome | None:
    """The passage a retry with the same key already stored, answered as the first time: one
    hand-written statement on the primary (a retried scan is a scan too: the hot path)."""
    conn = connections[DEFAULT_DB_ALIAS]
    cached = _REPLAY_SQL.get(conn.alias)
    if cached is None:
        qn = conn.ops.quote_name
        fields = list(GatePassage._meta.concrete_fields)
        sql = (
            f"SELECT {rawsql.columns(fields, 'x', conn)} FROM {qn(GatePassage._meta.db_table)} x "  # noqa: S608
            f"WHERE x.{qn('gate_id')} = %s AND x.{qn('day')} = %s AND x.{qn('idempotency_key')} = %s"
        )
        cached = _REPLAY_SQL[conn.alias] = (fields, sql)
    fields, sql = cached
    with rawsql.hot_cursor(conn) as cur:
        cur.execute(sql, [gate.pk, conn.ops.adapt_datefield_value(day), key])
        row = cur.fetchone()
    if row is None:
        return None
    (values,) = rawsql.convert_rows(conn, fields, [row])
    passage = rawsql.instance(GatePassage, conn, fields, values)
    return PassageOutcome(passage=passage, message=passage.message, replayed=True)


def passage_record(
    *,
    actor,
    gate: Gate,
    direction: str,
    resident_code: str = "",
    resident: Resident | None = None,
    visitor: dict | None = None,
    vehicle: dict | None = None,
    temperature=None,
    idempotency_key: str = "",
    away: bool = False,
    returnee: bool = False,
    scanned: Who | None = None,
) -> PassageOutcome:
    """Decide and record one passage through ``gate`` (fetched through the guard's PASS_GATE scope).

    Exactly one of ``resident_code`` (a sampling code or a pass code), ``resident`` (found by
    building and room), ``visitor`` or ``vehicle``. The checks, first refusal wins: the gate
    (closed, hours, residents or vehicles only), fever (≥ 37.3 ℃: refused; the committee's home
    page shows it), then — going out, or visiting — control's decision for the household
    (sealed, controlled per the settings, quarantine or home control), then the pass (a pass
    code, or every exit when the settings require one). A refused passage is recorded too. An
    allowed one moves the resident's presence where the settings say so (out for days → 外出,
    back → 在住). A retry with the same ``idempotency_key`` is stored once and answered with the
    first answer (the passage's own key, unique per gate and day).

    The write: a pass or a presence change take a transaction (the pass row is locked); the
    common scan is one statement on PostgreSQL (the passage and its audit event), see ADR 0021.
    """
    if direction not in Direction.values:
        raise ValidationError({"direction": ["不是可选值之一: in, out"]})
    given = [x for x in (resident_code, resident, visitor, vehicle) if x]
    if len(given) != 1:
        raise ValidationError({"__all__": ["请扫描居民码或通行证, 或登记访客、车辆(只选一种)"]})
    t = parse_temperature(temperature)
    key = clean_idempotency_key(idempotency_key)
    now = timezone.now()
    today = timezone.localdate(now)
    if key and timezone.localtime(now).time() < RETRY_ACROSS_MIDNIGHT:
        # A scanner's retry of a scan from just before midnight: the key is unique per gate and
        # day (the table is partitioned by day), so yesterday's passage is looked for first.
        earlier = _replay(gate, key, today - dt.timedelta(days=1))
        if earlier is not None:
            return earlier
    fields: dict = {}
    if visitor:
        subject = Subject.VISITOR
        fields, who = _clean_visitor(visitor, gate)
    elif vehicle:
        subject = Subject.VEHICLE
        fields, who = _clean_vehicle(vehicle), Who()
    else:
        subject = Subject.RESIDENT
        if resident is not None:
            who = resident_who(gate=gate, resident=resident)
        elif scanned is not None:  # read with the gate (selectors.gate_for_scan)
            if scanned.resident_id is None:
                raise ValidationError({"resident_code": [MSG_UNKNOWN_CODE]})
            who = scanned
        else:
            who = resolve_code(gate, resident_code)
    settings = _settings_of(gate)
    reason, message, pass_needed = _decide(
        gate=gate, subject=subject, direction=direction, who=who, temperature=t, settings=settings, now=now
    )
    passage = GatePassage(
        neighbourhood_id=gate.neighbourhood_id,
        compound_id=gate.compound_id,
        gate_id=gate.pk,
        day=today,
        at=now,
        direction=direction,
        subject=subject,
        allowed=not reason,
        reason=reason,
        message=message[:200],
        temperature=t,
        resident_id=who.resident_id,
        household_id=who.household_id,
        building_id=who.building_id,
        used_pass_id=who.pass_.pk if who.pass_ is not None else None,
        returnee=returnee,
        idempotency_key=key,
        guard_id=actor.pk if _user(actor) is not None else None,
        **fields,
    )
    presence = _presence_target(who, direction, away) if not reason and settings.presence_follows else None
    outcome = PassageOutcome(
        passage=passage,
        message=message,
        name=who.name or fields.get("visitor_name", "") or fields.get("plate", ""),
        place=f"{who.building_name} {who.room}室".strip() if who.room else who.building_name,
    )
    try:
        if pass_needed or presence or connection.vendor != "postgresql" or connection.in_atomic_block:
            with transaction.atomic():
                if pass_needed:
                    refused, pass_message = _take_pass(who, today)
                    passage.used_pass_id = who.pass_.pk if who.pass_ is not None else None
                    if refused:
                        passage.allowed, passage.reason, passage.message = False, refused, pass_message[:200]
                        presence = None
                    else:
                        passage.message = (_("可以通行") + f" · {pass_message}")[:200]
                    outcome.message = passage.message
                passage.save(force_insert=True)
                audit_record(actor=actor, action="gates.passage", obj=passage, changes=_audit_changes(passage))
                if presence:
                    resident_ = Resident.objects.get(pk=who.resident_id)
                    people_services.resident_update(actor=actor, resident=resident_, presence=presence)
        else:
            _insert_audited(actor, passage)
    except IntegrityError:
        # A retry with the same key (or a concurrent one) was stored first: its answer is ours.
        replay = _replay(gate, key, today) if key else None
        if replay is None:
            raise
        replay.name, replay.place = outcome.name, outcome.place
        return replay
    return outcome


def _decide(*, gate, subject, direction, who, temperature, settings, now) -> tuple[str, str, bool]:
    """``(reason, message, pass_needed)``: the first refusal, or "" and the green message; whether
    the exit must still count against a pass (under the pass's row lock, in the write)."""
    gate_says = _gate_refusal(gate, subject, now)
    if gate_says:
        return Reason.GATE_CLOSED, gate_says, False
    if temperature is not None and temperature >= FEVER_THRESHOLD:
        message = _("体温 %(t)s℃, 发热, 不能通行: 请引导至发热门诊, 已通知居委会") % {"t": temperature}
        return Reason.FEVER, message, False
    going_out = subject == Subject.RESIDENT and direction == Direction.OUT
    if going_out or (subject == Subject.VISITOR and direction == Direction.IN):
        refusal = _household_refusal(who, subject, settings)
        if refusal:
            return refusal[0], refusal[1], False
    pass_needed = going_out and (who.pass_ is not None or settings.pass_required)
    return "", _("可以通行"), pass_needed


def _audit_changes(passage: GatePassage) -> dict:
    return {
        "gate": passage.gate_id,
        "direction": passage.direction,
        "allowed": passage.allowed,
        "reason": passage.reason,
    }


_INSERT_SQL: dict[str, tuple[list, list, str]] = {}


def _insert_sql() -> tuple[list, list, str]:
    """The statement of ``_insert_audited`` (built once per database alias: names from the models)."""
    cached = _INSERT_SQL.get(connection.alias)
    if cached is not None:
        return cached
    qn = connection.ops.quote_name
    p_fields = [f for f in GatePassage._meta.concrete_fields if not f.primary_key]
    a_fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    a_exprs = []
    for f in a_fields:
        if f.attname == "object_id":
            a_exprs.append("p.id::text")
        elif f.attname == "object_repr":
            a_exprs.append("'#' || p.id || %s")
        else:
            a_exprs.append("%s")
    # A retry inserts nothing and returns no row: the caller reads the first answer from the table
    # (a retry is one scan in ten at worst; reading it here too, in the same statement, cost
    # every scan as much PostgreSQL CPU as the passage's own insert, ADR 0023).
    sql = (
        f"WITH p AS (INSERT INTO {qn(GatePassage._meta.db_table)} "  # noqa: S608 (names from the models)
        f"({', '.join(qn(f.column) for f in p_fields)}) VALUES ({', '.join(['%s'] * len(p_fields))}) "
        "ON CONFLICT DO NOTHING RETURNING id), "
        f"a AS (INSERT INTO {qn(AuditEvent._meta.db_table)} ({', '.join(qn(f.column) for f in a_fields)}) "
        f"SELECT {', '.join(a_exprs)} FROM p) "
        "SELECT id FROM p"
    )
    _INSERT_SQL[connection.alias] = (p_fields, a_fields, sql)
    return _INSERT_SQL[connection.alias]


def _insert_audited(actor, passage: GatePassage) -> None:
    """PostgreSQL, autocommit: the passage and its audit event (as ``audit_record`` writes it) in
    ONE statement of data-modifying CTEs; ``ON CONFLICT DO NOTHING`` on the passage's idempotency
    key, so a retry inserts nothing. Raises ``IntegrityError`` when nothing was inserted (a retry,
    or a concurrent twin: the insert waited for it to commit): the caller replays the passage
    stored under the key."""
    p_fields, a_fields, sql = _insert_sql()
    conn = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: each field asks it for its ops
    p_values = rawsql.prep_save(conn, p_fields, [getattr(passage, f.attname) for f in p_fields])
    event = audit_values(
        actor=actor,
        action="gates.passage",
        object_type=GatePassage._meta.label_lower,
        object_id="0",
        object_repr=f" {passage.who_masked}"[:190],  # after '#<id>', which the statement writes
        neighbourhood_id=passage.neighbourhood_id,
        changes=_audit_changes(passage),
    )
    event["created_at"] = passage.at
    a_fields_set = [f for f in a_fields if f.attname != "object_id"]
    a_values = rawsql.prep_save(conn, a_fields_set, [event[f.attname] for f in a_fields_set])
    with rawsql.hot_cursor(conn) as cur:
        cur.execute(sql, [*p_values, *a_values])
        row = cur.fetchone()
    if row is None:
        raise IntegrityError("a passage under this idempotency key is stored")
    passage.pk = row[0]
    passage._state.adding = False


def _presence_target(who: Who, direction: str, away: bool) -> str | None:
    """Out for days → 外出; back in after being away → 在住 (people's own service writes it)."""
    if not who.resident_id:
        return None
    if direction == Direction.OUT and away and who.presence == Presence.PRESENT:
        return Presence.AWAY
    if direction == Direction.IN and who.presence in (Presence.AWAY, Presence.NOT_RETURNED):
        return Presence.PRESENT
    return None


# --- Returnees at the gate ---------------------------------------------------------------------


@transaction.atomic
def returnee_at_gate(
    *,
    actor,
    gate: Gate,
    resident: Resident,
    origin: str,
    origin_risk: str,
    transport: str,
    transport_detail: str = "",
    commitment_signed: bool = False,
    temperature=None,
):
    """A resident arriving from outside, registered at the gate: control's returnee record (and
    the quarantine control's policy decides), then their passage in. Returns ``(returnee, outcome)``."""
    if not commitment_signed:
        raise ValidationError({"commitment_signed": ["请返沪人员签署承诺书后再登记"]})
    returnee = control_services.returnee_register(
        actor=actor,
        resident=resident,
        origin=origin,
        origin_risk=origin_risk,
        arrival_on=timezone.localdate(),
        transport=transport,
        transport_detail=transport_detail,
        commitment_signed=commitment_signed,
    )
    outcome = passage_record(
        actor=actor, gate=gate, direction=Direction.IN, resident=resident, temperature=temperature, returnee=True
    )
    return returnee, outcome


# --- Passes ------------------------------------------------------------------------------------


def _pass_code() -> str:
    return "P-" + "".join(secrets.choice(PASS_ALPHABET) for _i in range(10))


@transaction.atomic
def pass_issue(
    *,
    actor,
    household: Household,
    kind: str = PassKind.SHOPPING,
    valid_from: dt.date,
    valid_to: dt.date,
    quota: int = 1,
    period_days: int = 2,
    resident: Resident | None = None,
    employer: str = "",
) -> Pass:
    """Issue a pass to a household (or to one of its residents)."""
    errors: dict[str, list[str]] = {}
    if kind not in PassKind.values:
        errors["kind"] = ["不是可选值之一: " + ", ".join(PassKind.values)]
    if valid_to < valid_from:
        errors["valid_to"] = ["结束日期不能早于开始日期"]
    elif (valid_to - valid_from).days > 366:
        errors["valid_to"] = ["有效期最长一年"]
    if not 1 <= quota <= 100:
        errors["quota"] = ["每期次数应在 1 至 100 之间"]
    if not 1 <= period_days <= 90:
        errors["period_days"] = ["每期天数应在 1 至 90 之间"]
    employer = normalize.clean_text(employer or "")[:200]
    if kind == PassKind.WORK and not employer:
        errors["employer"] = ["上班通行证请填写单位及证明"]
    if resident is not None and resident.household_id != household.pk:
        errors["resident"] = ["持证人不属于该住户"]
    if errors:
        raise ValidationError(errors)
    p = Pass.objects.create(
        neighbourhood_id=household.neighbourhood_id,
        building_id=household.building_id,
        household=household,
        resident=resident,
        kind=kind,
        employer=employer,
        valid_from=valid_from,
        valid_to=valid_to,
        quota=quota,
        period_days=period_days,
        code=_pass_code(),
        created_by=_user(actor),
    )
    audit_record(
        actor=actor,
        action="gates.pass_issue",
        obj=p,
        changes={"household": household.pk, "kind": kind, "quota": quota, "period_days": period_days},
    )
    return p


@transaction.atomic
def pass_revoke(*, actor, pass_: Pass) -> Pass:
    if pass_.revoked_at is None:
        pass_.revoked_at = timezone.now()
        pass_.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="gates.pass_revoke", obj=pass_)
    return pass_


# --- Parcels -----------------------------------------------------------------------------------


def door_only(household) -> bool:
    """A parcel always goes to the door when the household may not come out for it (a sealed
    building, quarantine or home control: control's ``household_go_out_decision``)."""
    return household_go_out_decision(household) is not None


@transaction.atomic
def parcel_register(*, actor, household: Household, carrier: str = "", note: str = "") -> Parcel:
    """A parcel or takeaway arrived at the gate for ``household``; it waits for disinfection."""
    parcel = Parcel.objects.create(
        neighbourhood_id=household.neighbourhood_id,
        building_id=household.building_id,
        household=household,
        carrier=normalize.clean_text(carrier or "")[:50],
        note=normalize.clean_text(note or "")[:200],
        pickup_code=f"{secrets.randbelow(10**6):06d}",
        registered_by=_user(actor),
    )
    audit_record(actor=actor, action="gates.parcel_register", obj=parcel, changes={"household": household.pk})
    return parcel


def _locked(parcel: Parcel) -> Parcel:
    return Parcel.objects.select_for_update().select_related("household").get(pk=parcel.pk)


@transaction.atomic
def parcel_disinfect(*, actor, parcel: Parcel) -> Parcel:
    parcel = _locked(parcel)
    if parcel.status != ParcelStatus.ARRIVED:
        raise GateConflict(_("该快递已消杀"), code="already_disinfected")
    parcel.status = ParcelStatus.DISINFECTED
    parcel.disinfected_at = timezone.now()
    parcel.save(update_fields=["status", "disinfected_at"])
    audit_record(actor=actor, action="gates.parcel_disinfect", obj=parcel)
    return parcel


def _finish(actor, parcel: Parcel, status: str, action: str) -> Parcel:
    if parcel.status == ParcelStatus.ARRIVED:
        raise GateConflict(_("该快递还没有消杀, 请先消杀"), code="not_disinfected")
    if parcel.status != ParcelStatus.DISINFECTED:
        raise GateConflict(_("该快递已送达或已取走"), code="already_done")
    parcel.status = status
    parcel.done_at = timezone.now()
    parcel.done_by = _user(actor)
    parcel.save(update_fields=["status", "done_at", "done_by"])
    audit_record(actor=actor, action=action, obj=parcel)
    return parcel


@transaction.atomic
def parcel_deliver(*, actor, parcel: Parcel) -> Parcel:
    """Carried to the household's door (by a volunteer or the property staff)."""
    return _finish(actor, _locked(parcel), ParcelStatus.DELIVERED, "gates.parcel_deliver")


@transaction.atomic
def parcel_pickup(*, actor, parcel: Parcel, code: str) -> Parcel:
    """Collected at the gate with the pickup code, unless the household may not come out
    (sealed building, quarantine): then it goes to the door."""
    parcel = _locked(parcel)
    if (code or "").strip() != parcel.pickup_code:
        raise ValidationError({"code": ["取件码不对"]})
    if door_only(parcel.household):
        raise GateConflict(_("该户不能外出(封控或居家隔离), 快递只能送到门口"), code="door_only")
    return _finish(actor, parcel, ParcelStatus.PICKED_UP, "gates.parcel_pickup")
