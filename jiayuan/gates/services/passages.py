"""The one-scan passage (``passage_record``), the hot path of a morning peak: a guard has seconds per
person. It reads the gate with its settings, the scanned resident (only the columns it needs),
control's decision for the household (``household_zone_and_go_out``: the zone level and the
household's go-out decision in one query; gates has no copy of those rules), and the pass under a
row lock when one is involved; then it inserts the passage and its audit event. See ADR 0021 and
ADR 0023."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiayuan.control.choices import ZoneLevel
from jiayuan.control.selectors import household_zone_and_go_out
from jiayuan.core import rawsql
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record, audit_values
from jiayuan.core.idempotency import MAX_KEY_LENGTH, MSG_BAD_KEY
from jiayuan.core.models import AuditEvent
from jiayuan.gates.choices import (
    FEVER_THRESHOLD,
    Direction,
    GateState,
    Reason,
    Restriction,
    Subject,
    VehiclePurpose,
)
from jiayuan.gates.models import Gate, GatePassage, GateSettings, Pass
from jiayuan.gates.services.gates import MSG_TEMPERATURE, MSG_UNKNOWN_CODE
from jiayuan.people import normalize
from jiayuan.people import services as people_services
from jiayuan.people.choices import Presence
from jiayuan.people.models import Resident
from jiayuan.places.models import Household
from jiayuan.screening.codes import parse_sampling_code

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
        return rawsql.new(GateSettings, neighbourhood_id=gate.neighbourhood_id)


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


_DIRECTIONS = frozenset(Direction.values)  # a Choices class builds its ``values`` list on every use

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
    now: dt.datetime | None = None,
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
    first answer (the passage's own key, unique per gate and day). ``now``: the instant the scan's
    reads were made for (``selectors.scan_for_token``), else the current time.

    The write: a pass or a presence change take a transaction (the pass row is locked); the
    common scan is one statement on PostgreSQL (the passage and its audit event), see ADR 0021.
    """
    if direction not in _DIRECTIONS:
        raise ValidationError({"direction": ["不是可选值之一: in, out"]})
    given = [x for x in (resident_code, resident, visitor, vehicle) if x]
    if len(given) != 1:
        raise ValidationError({"__all__": ["请扫描居民码或通行证, 或登记访客、车辆(只选一种)"]})
    t = parse_temperature(temperature)
    key = clean_idempotency_key(idempotency_key)
    now = now or timezone.now()
    local = timezone.localtime(now)
    today = local.date()
    if key and local.time() < RETRY_ACROSS_MIDNIGHT:
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
    passage = rawsql.new(
        GatePassage,
        neighbourhood_id=gate.neighbourhood_id,
        compound_id=gate.compound_id,
        gate_id=gate.pk,
        day=today,
        at=now,
        direction=direction,
        subject=str(subject),  # the choices' plain values: the hot insert passes a str as it is
        allowed=not reason,
        reason=str(reason),
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


_INSERT_SQL: dict[str, tuple[list, tuple, int, str]] = {}

# The audit event's columns ``_insert_audited``'s statement writes from the passage (``p``).
_AUDIT_FROM_PASSAGE = {
    "object_id": "p.id::text",
    "object_repr": "'#' || p.id || %s",
    "created_at": "p.at",
    "neighbourhood_id": "p.neighbourhood_id",
    "changes": "%s::jsonb",
}


def _insert_sql() -> tuple[list, tuple, int, str]:
    """The statement of ``_insert_audited`` (built once per database alias: names from the models):
    the passage's fields, the audit event's parameter fields, where its changes are among them,
    and the SQL."""
    cached = _INSERT_SQL.get(connection.alias)
    if cached is not None:
        return cached
    qn = connection.ops.quote_name
    p_fields = [f for f in GatePassage._meta.concrete_fields if not f.primary_key]
    a_columns = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    # The audit event's values that the passage already holds are read from its RETURNING row;
    # its changes go as JSON text (psycopg's own JSON adapter encodes in Python, ADR 0023).
    a_exprs = [_AUDIT_FROM_PASSAGE.get(f.attname, "%s") for f in a_columns]
    a_fields = tuple(f for f, expr in zip(a_columns, a_exprs, strict=True) if "%s" in expr)  # its parameters
    # A retry inserts nothing and returns no row: the caller reads the first answer from the table
    # (a retry is one scan in ten at worst; reading it here too, in the same statement, cost
    # every scan as much PostgreSQL CPU as the passage's own insert, ADR 0023).
    sql = (
        f"WITH p AS (INSERT INTO {qn(GatePassage._meta.db_table)} "  # noqa: S608 (names from the models)
        f"({', '.join(qn(f.column) for f in p_fields)}) VALUES ({', '.join(['%s'] * len(p_fields))}) "
        "ON CONFLICT DO NOTHING RETURNING id, at, neighbourhood_id), "
        f"a AS (INSERT INTO {qn(AuditEvent._meta.db_table)} ({', '.join(qn(f.column) for f in a_columns)}) "
        f"SELECT {', '.join(a_exprs)} FROM p) "
        "SELECT id FROM p"
    )
    changes_at = [f.attname for f in a_fields].index("changes")
    _INSERT_SQL[connection.alias] = (p_fields, a_fields, changes_at, sql)
    return _INSERT_SQL[connection.alias]


def _insert_audited(actor, passage: GatePassage) -> None:
    """PostgreSQL, autocommit: the passage and its audit event (as ``audit_record`` writes it) in
    ONE statement of data-modifying CTEs; ``ON CONFLICT DO NOTHING`` on the passage's idempotency
    key, so a retry inserts nothing. Raises ``IntegrityError`` when nothing was inserted (a retry,
    or a concurrent twin: the insert waited for it to commit): the caller replays the passage
    stored under the key."""
    p_fields, a_fields, changes_at, sql = _insert_sql()
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
    # The parameters of the audit event's columns, in order; its changes as JSON text.
    changes = event.pop("changes")
    a_values = rawsql.prep_save(conn, a_fields, [event.get(f.attname) for f in a_fields])
    a_values[changes_at] = json.dumps(changes, cls=DjangoJSONEncoder)
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
