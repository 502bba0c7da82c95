"""One scan: a roster resident (by sampling code) or a person not on the roster into a tube —
the transactional path, PostgreSQL's one-statement fast path, and the idempotent answer."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from jiayuan.core import context, crypto, rawsql
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.core.masking import mask_id_number, mask_name, mask_phone
from jiayuan.core.models import AuditEvent, IdempotencyRecord
from jiayuan.people.models import Resident
from jiayuan.places.models import Household
from jiayuan.screening.choices import (
    RetestStatus,
    SampleKind,
    TubeResult,
    TubeStatus,
)
from jiayuan.screening.codes import parse_sampling_code
from jiayuan.screening.models import (
    Retest,
    Round,
    Sample,
    Tube,
)
from jiayuan.screening.services._shared import (
    MSG_NOT_IN_ROUND,
    MSG_NOT_ON_RETEST,
    MSG_TUBE_CLOSED,
    MSG_TUBE_FULL,
    MSG_UNKNOWN_CODE,
    MSG_UNKNOWN_TUBE,
    ScanRejected,
    _check_round_open,
    _clean_barcode,
    _msg_duplicate,
    error_body,
    idempotency_scope,
)
from jiayuan.screening.services.tubes import tube_open


@dataclass
class ScanOutcome:
    tube: Tube
    sample: Sample
    name: str

    @property
    def full(self) -> bool:
        return self.tube.fill_count >= self.tube.pool_size

    def as_dict(self) -> dict[str, Any]:
        return {
            "sample_id": self.sample.pk,
            "tube": self.tube.barcode,
            "fill": self.tube.fill_count,
            "pool_size": self.tube.pool_size,
            "full": self.full,
            "closed": self.tube.status == TubeStatus.CLOSED,
            "resident": self.sample.resident_id,
            "name": mask_name(self.name),
            "retest": self.sample.is_retest,
        }


_UNSET: Any = object()


def _resolve_resident(round_: Round, code: str, scanned: dict | None = _UNSET) -> Resident:
    """The resident a sampling code names (only the columns a scan needs). ``scanned``: those
    columns already read with the round (``selectors.round_for_scan``), None when that found no
    such resident."""
    resident_id = parse_sampling_code(code)
    if resident_id is None:
        raise ScanRejected(MSG_UNKNOWN_CODE, status=404, code="unknown_code")
    if scanned is not _UNSET:
        if not scanned:
            raise ScanRejected(MSG_UNKNOWN_CODE, status=404, code="unknown_code")
        row = (resident_id, scanned["name"], scanned["nb"], scanned["hh"], scanned["b"])
        return _resident_from_row(round_, row)
    # Only the columns the scan needs, in one plain query (this is the hot path of a round): the
    # encrypted ID number and phone are never loaded, let alone decrypted.
    qn = connection.ops.quote_name
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(
            f"SELECT r.id, r.name, r.neighbourhood_id, r.household_id, h.building_id "  # noqa: S608
            f"FROM {qn(Resident._meta.db_table)} r LEFT JOIN {qn(Household._meta.db_table)} h "
            "ON h.id = r.household_id WHERE r.id = %s",
            [resident_id],
        )
        row = cur.fetchone()
    if row is None:
        raise ScanRejected(MSG_UNKNOWN_CODE, status=404, code="unknown_code")
    return _resident_from_row(round_, row)


def _resident_from_row(round_: Round, row) -> Resident:
    resident = Resident(pk=row[0], name=row[1], neighbourhood_id=row[2], household_id=row[3])
    resident._state.adding = False
    resident.building_id_cached = row[4]
    if resident.neighbourhood_id != round_.neighbourhood_id:
        raise ScanRejected(MSG_NOT_IN_ROUND, status=422, code="not_in_round")
    return resident


def _take_place(round_: Round, barcode: str) -> Tube | None:
    """Take one place in an open tube that is not full, atomically: ``UPDATE … SET fill_count =
    fill_count + 1 … WHERE status = 'open' AND fill_count < pool_size RETURNING …``.

    The UPDATE locks the tube row until the transaction ends, and PostgreSQL re-checks the WHERE
    on the latest row version after waiting for a concurrent writer, so two samplers scanning into
    one tube can never overfill it (the same guarantee as ``select_for_update`` + update, in one
    round trip). The tube closes itself when the last place is taken. None: no open place.
    """
    table = connection.ops.quote_name(Tube._meta.db_table)
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(
            f"UPDATE {table} SET fill_count = fill_count + 1, "  # noqa: S608 - table name from the model
            "status = CASE WHEN fill_count + 1 >= pool_size THEN %s ELSE status END, "
            "closed_at = CASE WHEN fill_count + 1 >= pool_size THEN %s ELSE closed_at END "
            "WHERE round_id = %s AND barcode = %s AND status = %s AND fill_count < pool_size "
            "RETURNING id, fill_count, pool_size, status, is_retest",
            [
                TubeStatus.CLOSED,
                connection.ops.adapt_datetimefield_value(timezone.now()),
                round_.pk,
                barcode,
                TubeStatus.OPEN,
            ],
        )
        row = cur.fetchone()
    if row is None:
        return None
    tube = Tube(
        pk=row[0],
        round=round_,
        neighbourhood_id=round_.neighbourhood_id,
        barcode=barcode,
        fill_count=row[1],
        pool_size=row[2],
        status=row[3],
        is_retest=bool(row[4]),
    )
    tube._state.adding = False
    return tube


def _place_in_tube(*, actor, round_: Round, barcode: str, open_tube: bool, retest: bool) -> Tube:
    barcode = _clean_barcode(barcode)
    tube = _take_place(round_, barcode)
    if tube is not None:
        return tube
    existing = Tube.objects.filter(round=round_, barcode=barcode).only("status", "fill_count", "pool_size").first()
    if existing is None:
        if not open_tube:
            raise ScanRejected(MSG_UNKNOWN_TUBE, status=404, code="unknown_tube")
        tube_open(actor=actor, round_=round_, barcode=barcode, is_retest=retest)
        tube = _take_place(round_, barcode)
        if tube is not None:
            return tube
        existing = Tube.objects.filter(round=round_, barcode=barcode).only("status", "fill_count", "pool_size").first()
    if existing is not None and existing.status == TubeStatus.OPEN and existing.fill_count >= existing.pool_size:
        raise ScanRejected(MSG_TUBE_FULL, status=409, code="tube_full")
    raise ScanRejected(MSG_TUBE_CLOSED, status=409, code="tube_closed")


def _insert_sample(sample: Sample) -> bool:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: False when the unique (round, resident,
    is_retest) already holds this person (no exception, so the transaction stays usable)."""
    table = connection.ops.quote_name(Sample._meta.db_table)
    now = timezone.now()
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(
            f"INSERT INTO {table} (round_id, tube_id, neighbourhood_id, building_id, resident_id, kind, "  # noqa: S608
            "is_retest, person_name, person_contact, person_contact_hash, sampled_by_id, sampled_at, day) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, '', '', '', %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            [
                sample.round_id,
                sample.tube_id,
                sample.neighbourhood_id,
                sample.building_id,
                sample.resident_id,
                sample.kind,
                sample.is_retest,
                sample.sampled_by_id,
                connection.ops.adapt_datetimefield_value(now),
                sample.round.date,
            ],
        )
        row = cur.fetchone()
    if row is None:
        return False
    sample.pk = row[0]
    sample.sampled_at = now
    sample._state.adding = False
    return True


def _resident_outcome(actor, round_: Round, resident: Resident, tube: Tube) -> ScanOutcome:
    """The (not yet stored) sample of a roster resident in ``tube``, as a scan's outcome."""
    sample = Sample(
        round=round_,
        tube=tube,
        neighbourhood_id=round_.neighbourhood_id,
        building_id=resident.building_id_cached,
        resident=resident,
        kind=SampleKind.RESIDENT,
        is_retest=tube.is_retest,
        sampled_by=_user(actor),
    )
    return ScanOutcome(tube=tube, sample=sample, name=resident.name)


@transaction.atomic
def sample_scan(
    *, actor, round_: Round, tube_barcode: str, resident_code: str, open_tube: bool = True, retest: bool = False
) -> ScanOutcome:
    """Swab a roster resident into a tube (see ``_sample_scan``)."""
    return _sample_scan(
        actor=actor,
        round_=round_,
        tube_barcode=tube_barcode,
        resident_code=resident_code,
        open_tube=open_tube,
        retest=retest,
    )


def _sample_scan(
    *,
    actor,
    round_: Round,
    tube_barcode: str,
    resident_code: str,
    open_tube: bool = True,
    retest: bool = False,
    scanned: dict | None = _UNSET,
    record: tuple[str, str] | None = None,
) -> ScanOutcome:
    """Swab a roster resident into a tube; the caller holds the transaction.

    The tube's place is taken with one guarded UPDATE (see ``_take_place``), so two samplers
    filling one tube never overfill it; the unique ``(round, resident, is_retest)`` makes a second
    swab of the same person in a round impossible even when two stations race. A refusal raises
    ``ScanRejected`` and the caller's transaction rolls the scan back.

    A retest tube (single, ``retest=True`` when it is opened) takes residents on the round's
    retest list only.

    ``record``: ``(scope, key)`` of an idempotency record to store the 201 answer under, in the
    same statement as the sample and its audit event on PostgreSQL; ``_Replay`` when the key is
    already answered.
    """
    _check_round_open(round_)
    resident = _resolve_resident(round_, resident_code, scanned)
    tube = _place_in_tube(actor=actor, round_=round_, barcode=tube_barcode, open_tube=open_tube, retest=retest)
    retest_rows: list[Retest] = []
    if tube.is_retest:
        retest_rows = list(_pending_retests(round_, resident.pk))
        if not retest_rows:
            raise ScanRejected(MSG_NOT_ON_RETEST, status=422, code="not_on_retest")
    outcome = _resident_outcome(actor, round_, resident, tube)
    sample = outcome.sample
    changes = {"round": round_.pk, "tube": tube.barcode, "fill": tube.fill_count, "retest": tube.is_retest}
    if connection.vendor == "postgresql":
        inserted, recorded = _insert_sample_audited(actor=actor, outcome=outcome, record=record)
    else:
        inserted = _insert_sample(sample)
        recorded = True
    if not inserted:
        first = (
            Sample.objects.filter(round=round_, resident=resident, is_retest=tube.is_retest)
            .values_list("tube__barcode", flat=True)
            .first()
        )
        raise ScanRejected(_msg_duplicate(first or "?"), status=409, code="duplicate")
    if not recorded:
        raise _Replay
    for retest_row in retest_rows:
        # An antigen-positive resident's retest joins the round that swabs them.
        retest_row.round = round_
        retest_row.status = RetestStatus.SAMPLED
        retest_row.retest_sample = sample
        retest_row.save(update_fields=["round", "status", "retest_sample"])
    if connection.vendor != "postgresql":
        audit_record(actor=actor, action="screening.sample", obj=sample, changes=changes)
        if record is not None and not _record_answer(record[0], record[1], 201, outcome.as_dict()):
            raise _Replay
    return outcome


def _pending_retests(round_: Round, resident_id: int):
    """The resident's retests a retest tube of ``round_`` takes: this round's pooled-tube retests,
    and antigen retests of the round's neighbourhood not yet swabbed in any round."""
    return (
        Retest.objects.select_for_update()
        .filter(resident_id=resident_id, status=RetestStatus.PENDING)
        .filter(Q(round=round_) | Q(round__isnull=True, neighbourhood_id=round_.neighbourhood_id))
        .order_by("id")
    )


def _sample_statement(
    *, actor, outcome: ScanOutcome, record: tuple[str, str] | None, take: tuple[int, str] | None
) -> tuple[str, list[Any]]:
    """PostgreSQL: the scan's writes as ONE statement (data-modifying CTEs) — the sample, its audit
    event (as ``audit_record`` writes it) and the idempotency record whose body is the 201 answer.

    ``take=None`` (the transactional path): the tube place is already taken and ``outcome.tube`` is
    it; the sample is ``INSERT … ON CONFLICT DO NOTHING`` so an already swabbed person inserts
    nothing (no audit, no record either), and so does an idempotency key that is already answered.
    The statement returns ``(sample id, recorded)``, or no row.

    ``take=(round_id, barcode)`` (the fast path, one round trip in autocommit): the statement also
    takes the place in the open, not full, not retest tube with the guarded UPDATE of
    ``_take_place`` or, when the round has no such barcode yet, opens the tube with this swab in
    it (and audits the opening as ``tube_open`` does); the sample and the record are not ``ON
    CONFLICT``, so a duplicate person or a replayed key raises ``IntegrityError`` and the whole
    statement, the tube's fill or opening with it, is undone. It returns ``(sample id, true, fill,
    pool size, status, tube id)``, or no row when no place is free (a full, closed or retest tube,
    or a tube a concurrent scan is opening: the transactional path answers those).
    """
    sample = outcome.sample
    qn = connection.ops.quote_name
    ctx = context.current()
    now = timezone.now()
    user = _user(actor)
    params: list[Any] = []
    if take is None:
        tube = outcome.tube
        sql = "WITH t AS (SELECT %s::bigint AS id, %s::int AS fill_count, %s::int AS pool_size, %s::text AS status), "
        params += [tube.pk, tube.fill_count, tube.pool_size, tube.status]
        conflict = " ON CONFLICT DO NOTHING"
        opened_sql, opened_params = "", []
    else:
        round_id, barcode = take
        tube_table = qn(Tube._meta.db_table)
        pool = outcome.tube.pool_size
        sql = (
            # u: a place in the open tube; n: or the tube opened with this first swab in it.
            f"WITH u AS (UPDATE {tube_table} SET fill_count = fill_count + 1, "  # noqa: S608
            "status = CASE WHEN fill_count + 1 >= pool_size THEN %s ELSE status END, "
            "closed_at = CASE WHEN fill_count + 1 >= pool_size THEN %s ELSE closed_at END "
            "WHERE round_id = %s AND barcode = %s AND status = %s AND fill_count < pool_size AND NOT is_retest "
            "RETURNING id, fill_count, pool_size, status), "
            f"n AS (INSERT INTO {tube_table} (round_id, neighbourhood_id, barcode, pool_size, fill_count, status, "
            "is_retest, result, opened_by_id, opened_at, closed_at) "
            "SELECT %s, %s, %s, %s, 1, %s, false, %s, %s, %s, %s WHERE NOT EXISTS (SELECT 1 FROM u) "
            "ON CONFLICT DO NOTHING RETURNING id, fill_count, pool_size, status), "
            "t AS (SELECT * FROM u UNION ALL SELECT * FROM n), "
        )
        params += [TubeStatus.CLOSED, now, round_id, barcode, TubeStatus.OPEN]
        params += [
            round_id,
            outcome.sample.neighbourhood_id,
            barcode,
            pool,
            TubeStatus.CLOSED if pool <= 1 else TubeStatus.OPEN,
            TubeResult.PENDING,
            user.pk if user else None,
            now,
            now if pool <= 1 else None,
        ]
        # The opening's audit row, as ``tube_open`` writes it: first, before the sample's.
        opened_sql = (
            "SELECT 0, %s::timestamptz, %s::bigint, %s::text, 'screening.tube_open', %s::text, n.id::text, "
            "%s::text, %s::bigint, %s::jsonb, %s::text, %s::text, %s::text FROM n UNION ALL "
        )
        opened_params = [
            now,
            user.pk if user else None,
            (user.get_username() if user else str(actor or ""))[:150],
            Tube._meta.label_lower,
            f"{barcode} (0/{pool})",
            outcome.sample.neighbourhood_id,
            json.dumps({"round": round_id, "pool_size": pool, "retest": False}),
            ctx.ip,
            ctx.user_agent,
            ctx.channel,
        ]
        conflict = ""
    sql += (
        f"s AS (INSERT INTO {qn(Sample._meta.db_table)} (round_id, tube_id, neighbourhood_id, building_id, "  # noqa: S608
        "resident_id, kind, is_retest, person_name, person_contact, person_contact_hash, sampled_by_id, sampled_at, "
        f"day) SELECT %s, t.id, %s, %s, %s, %s, %s, '', '', '', %s, %s, %s FROM t{conflict} RETURNING id), "
        # The audit rows in one INSERT, in order (ids follow ``ord``): the opening, then the sample.
        f"a AS (INSERT INTO {qn(AuditEvent._meta.db_table)} (created_at, actor_id, actor_label, action, object_type, "
        "object_id, object_repr, neighbourhood_id, changes, ip, user_agent, channel) "
        "SELECT created_at, actor_id, actor_label, action, object_type, object_id, object_repr, neighbourhood_id, "
        f"changes, ip, user_agent, channel FROM ({opened_sql}"
        "SELECT 1, %s::timestamptz, %s::bigint, %s::text, %s::text, %s::text, s.id::text, "
        "'#' || %s || ' → ' || t.id, %s::bigint, "
        "jsonb_build_object('round', %s::int, 'tube', %s::text, 'fill', t.fill_count, 'retest', %s::boolean), "
        "%s::text, %s::text, %s::text FROM s, t) AS x (ord, created_at, actor_id, actor_label, action, object_type, "
        "object_id, object_repr, neighbourhood_id, changes, ip, user_agent, channel) ORDER BY ord)"
    )
    params += [
        sample.round_id,
        sample.neighbourhood_id,
        sample.building_id,
        sample.resident_id,
        sample.kind,
        sample.is_retest,
        sample.sampled_by_id,
        now,
        sample.round.date,
        *opened_params,
        now,
        user.pk if user else None,
        (user.get_username() if user else str(actor or ""))[:150],
        "screening.sample",
        Sample._meta.label_lower,
        str(sample.resident_id),
        sample.neighbourhood_id,
        sample.round_id,
        outcome.tube.barcode,
        sample.is_retest,
        ctx.ip,
        ctx.user_agent,
        ctx.channel,
    ]
    returning = "s.id, true, t.fill_count, t.pool_size, t.status, t.id FROM s, t"
    if record is not None:
        # The answer as ``ScanOutcome.as_dict`` gives it, with what only the statement knows.
        sql += (
            f", i AS (INSERT INTO {qn(IdempotencyRecord._meta.db_table)} (scope, key, status, body, created_at) "  # noqa: S608
            "SELECT %s, %s, 201, %s::jsonb || jsonb_build_object('sample_id', s.id, 'fill', t.fill_count, "
            "'pool_size', t.pool_size, 'full', t.fill_count >= t.pool_size, 'closed', t.status = %s), %s "
            f"FROM s, t{conflict} RETURNING 1) "
        )
        params += [record[0], record[1], json.dumps(outcome.as_dict()), TubeStatus.CLOSED, now]
        returning = "s.id, EXISTS (SELECT 1 FROM i), t.fill_count, t.pool_size, t.status, t.id FROM s, t"
    return f"{sql} SELECT {returning}", params


def _insert_sample_audited(*, actor, outcome: ScanOutcome, record: tuple[str, str] | None) -> tuple[bool, bool]:
    """PostgreSQL: the sample, its audit event and the idempotency record in one statement (see
    ``_sample_statement``), the scan's last round trip. Returns (sample inserted, answer recorded —
    False when the idempotency key was already answered)."""
    sql, params = _sample_statement(actor=actor, outcome=outcome, record=record, take=None)
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    if row is None:
        return False, False
    sample = outcome.sample
    sample.pk = row[0]
    sample.sampled_at = timezone.now()
    sample._state.adding = False
    return True, bool(row[1])


def _sample_scan_fast(
    *, actor, round_: Round, tube_barcode: str, resident_code: str, scanned: dict | None, record
) -> ScanOutcome | None:
    """PostgreSQL, the scanner's normal case — a roster resident into an open tube that has room —
    in ONE statement and one round trip, without BEGIN/COMMIT (see ``_sample_statement``).

    The checks that need no database run first and refuse as ``_sample_scan`` does. None: the
    statement changed nothing (no such open place, a duplicate person, a replayed key) and the
    transactional ``_sample_scan`` must answer — it finds the exact reason, opens a new tube, or
    replays the stored answer.
    """
    _check_round_open(round_)
    resident = _resolve_resident(round_, resident_code, scanned)
    barcode = _clean_barcode(tube_barcode)
    tube = Tube(
        round=round_,
        neighbourhood_id=round_.neighbourhood_id,
        barcode=barcode,
        pool_size=round_.pool_size,
        status=TubeStatus.OPEN,
    )
    outcome = _resident_outcome(actor, round_, resident, tube)
    sample = outcome.sample
    sql, params = _sample_statement(actor=actor, outcome=outcome, record=record, take=(round_.pk, barcode))
    try:
        if connection.in_atomic_block:  # inside a caller's transaction: undo only this statement
            with transaction.atomic(), rawsql.hot_cursor(connection) as cur:
                cur.execute(sql, params)
                row = cur.fetchone()
        else:  # autocommit: the statement is its own transaction
            with rawsql.hot_cursor(connection) as cur:
                cur.execute(sql, params)
                row = cur.fetchone()
    except IntegrityError:
        return None
    if row is None:
        return None
    sample.pk, _recorded, tube.fill_count, tube.pool_size, tube.status, tube.pk = row
    tube._state.adding = False
    sample.tube = tube
    sample.sampled_at = timezone.now()
    sample._state.adding = False
    return outcome


def _mask_contact(contact: str) -> str:
    contact = (contact or "").strip().replace(" ", "")
    if not contact:
        return ""
    if len(contact) >= 15:
        return mask_id_number(contact.upper())
    return mask_phone(contact)


@transaction.atomic
def sample_scan_person(
    *,
    actor,
    round_: Round,
    tube_barcode: str,
    name: str,
    contact: str = "",
    kind: str = SampleKind.VISITOR,
    open_tube: bool = True,
) -> ScanOutcome:
    """Swab someone not on the roster (a visitor, a worker): name and a phone or ID number, kept
    masked with a keyed hash so the same person is not swabbed twice in a round."""
    _check_round_open(round_)
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["请填写姓名"]
    if kind not in (SampleKind.VISITOR, SampleKind.WORKER):
        errors["kind"] = ["人员类型应为访客或工作人员"]
    clean_contact = (contact or "").strip().replace(" ", "").upper()
    if clean_contact and not re.match(r"^[0-9A-Z-]{6,20}$", clean_contact):
        errors["contact"] = ["请填写手机号或证件号"]
    if errors:
        raise ValidationError(errors)
    contact_hash = crypto.keyed_hash(clean_contact)
    if contact_hash:
        first = Sample.objects.filter(round=round_, person_contact_hash=contact_hash).select_related("tube").first()
        if first is not None:
            raise ScanRejected(_msg_duplicate(first.tube.barcode), status=409, code="duplicate")
    tube = _place_in_tube(actor=actor, round_=round_, barcode=tube_barcode, open_tube=open_tube, retest=False)
    sample = Sample.objects.create(
        round=round_,
        tube=tube,
        neighbourhood_id=round_.neighbourhood_id,
        kind=kind,
        person_name=name[:64],
        person_contact=_mask_contact(clean_contact),
        person_contact_hash=contact_hash,
        sampled_by=_user(actor),
    )
    audit_record(
        actor=actor,
        action="screening.sample",
        obj=sample,
        changes={"round": round_.pk, "tube": tube.barcode, "fill": tube.fill_count, "kind": kind},
    )
    return ScanOutcome(tube=tube, sample=sample, name=name)


def sample_scan_one(
    *,
    actor,
    round_: Round,
    tube: str,
    resident_code: str,
    idempotency_key: str = "",
    retest: bool = False,
    scanned: dict | None = _UNSET,
) -> tuple[int, dict]:
    """One scan answered as ``(status, body)`` (201 or the error), stored once per idempotency key.

    The same contract as ``core.idempotency.run_idempotent``, arranged for the hot path: the scan
    runs first and its answer is recorded in the same transaction with ``INSERT … ON CONFLICT DO
    NOTHING``; only when that finds the key taken (a retry), or the scan is refused (a retry of a
    scan that went through is refused as a duplicate or a full tube), is the stored answer read —
    and the retry's own writes are rolled back, so nothing is stored twice. The normal scan with a
    key costs one INSERT and no lookup.

    On PostgreSQL the normal scan (a resident read with the round, an open tube with room) is one
    statement in autocommit — tube place, sample, audit event and answer (``_sample_scan_fast``);
    anything else falls through to the transactional path, which gives the exact answer.
    """
    from jiayuan.core.idempotency import MAX_KEY_LENGTH

    key = (idempotency_key or "")[:MAX_KEY_LENGTH]
    scope = idempotency_scope(actor, round_)[:200]
    record = (scope, key) if key else None
    scan = {
        "actor": actor,
        "round_": round_,
        "tube_barcode": tube,
        "resident_code": resident_code,
        "scanned": scanned,
        "record": record,
    }
    try:
        outcome = None
        if connection.vendor == "postgresql" and scanned is not _UNSET and not retest:
            outcome = _sample_scan_fast(**scan)
        if outcome is None:
            with transaction.atomic():
                outcome = _sample_scan(**scan, retest=retest)
        return 201, outcome.as_dict()
    except (ValidationError, _Replay, IntegrityError) as exc:
        if key:
            stored = IdempotencyRecord.objects.filter(scope=scope, key=key).values_list("status", "body").first()
            if stored is not None:
                return stored[0], stored[1]
        if isinstance(exc, ValidationError):
            return error_body(exc)
        raise


class _Replay(Exception):
    """The idempotency key is already answered: roll this attempt back and replay that answer."""


def _record_answer(scope: str, key: str, status: int, body: dict) -> bool:
    """Store the answer for ``(scope, key)``; False when a first answer already holds the key."""
    qn = connection.ops.quote_name
    body_field = IdempotencyRecord._meta.get_field("body")
    created_field = IdempotencyRecord._meta.get_field("created_at")
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(
            f"INSERT INTO {qn(IdempotencyRecord._meta.db_table)} "  # noqa: S608 - names from the model
            f"({qn('scope')}, {qn('key')}, {qn('status')}, {qn('body')}, {qn('created_at')}) "
            "VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING id",
            [
                scope,
                key,
                status,
                body_field.get_db_prep_save(body, connection),
                created_field.get_db_prep_save(timezone.now(), connection),
            ],
        )
        return cur.fetchone() is not None
