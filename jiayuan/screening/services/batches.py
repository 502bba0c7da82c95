"""Many scans in one request, answered item by item (the ORM's path, and PostgreSQL's two
set-based statements)."""

from __future__ import annotations

import json

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from jiayuan.core import context, rawsql
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_event
from jiayuan.core.masking import mask_name
from jiayuan.core.models import AuditEvent, IdempotencyRecord
from jiayuan.people.models import Resident
from jiayuan.places.models import Household
from jiayuan.screening.choices import (
    SampleKind,
    TubeResult,
    TubeStatus,
)
from jiayuan.screening.codes import parse_sampling_code
from jiayuan.screening.models import (
    Round,
    Sample,
    Tube,
)
from jiayuan.screening.services._shared import (
    BARCODE_RE,
    MSG_BAD_BARCODE,
    MSG_NOT_IN_ROUND,
    MSG_TUBE_CLOSED,
    MSG_TUBE_FULL,
    MSG_UNKNOWN_CODE,
    ScanRejected,
    _check_round_open,
    _clean_barcode,
    _msg_duplicate,
    error_body,
    idempotency_scope,
)
from jiayuan.screening.services.scans import sample_scan_one


def sample_scan_batch(*, actor, round_: Round, items: list[dict]) -> list[tuple[int, dict]]:
    """Many scans in one transaction, answered item by item: one bad item spoils nothing else.

    Fast path (the scanner's normal case): codes, residents, existing samples, tubes and stored
    idempotent answers are read in a handful of set queries, the tubes locked once each, the new
    samples, audit events and idempotency records inserted in bulk — on PostgreSQL in two
    statements whatever the batch's size (``_batch_pg``), elsewhere through the ORM
    (``_batch_fast``). If a concurrent writer beats us to a unique key, the whole batch is redone
    item by item through ``sample_scan_one``.
    """
    if not items:
        return []
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                return _batch_pg(actor=actor, round_=round_, items=items)
            return _batch_fast(actor=actor, round_=round_, items=items)
    except IntegrityError:
        pass
    except _SlowPath:
        pass
    with transaction.atomic():
        return [
            sample_scan_one(
                actor=actor,
                round_=round_,
                tube=item.get("tube", ""),
                resident_code=item.get("resident_code", ""),
                idempotency_key=item.get("idempotency_key") or "",
                retest=bool(item.get("retest")),
            )
            for item in items
        ]


class _SlowPath(Exception):
    pass


def _valid_barcodes(items: list[dict]) -> set[str]:
    return {b for b in ((item.get("tube") or "").strip() for item in items) if BARCODE_RE.match(b)}


def _batch_fast(*, actor, round_: Round, items: list[dict]) -> list[tuple[int, dict]]:
    from jiayuan.core.idempotency import MAX_KEY_LENGTH

    if any(item.get("retest") for item in items):
        raise _SlowPath
    scope = idempotency_scope(actor, round_)[:200]
    keys = [((item.get("idempotency_key") or "")[:MAX_KEY_LENGTH]) for item in items]
    stored = {
        k: (s, b)
        for k, s, b in IdempotencyRecord.objects.filter(scope=scope, key__in=[k for k in keys if k]).values_list(
            "key", "status", "body"
        )
    }
    answers: list[tuple[int, dict] | None] = [None] * len(items)
    try:
        _check_round_open(round_)
    except ScanRejected as exc:
        return [stored[k] if k in stored else error_body(exc) for k in keys]

    # Residents, in one query.
    ids: list[int | None] = [parse_sampling_code(item.get("resident_code", "")) for item in items]
    residents = {
        r.pk: r
        for r in Resident.objects.filter(pk__in=[i for i in ids if i])
        .only("id", "name", "neighbourhood_id", "household_id", "household__building_id")
        .select_related("household")
    }
    already = dict(
        Sample.objects.filter(round=round_, resident_id__in=list(residents), is_retest=False).values_list(
            "resident_id", "tube__barcode"
        )
    )
    # Tubes, opened in bulk if new, then locked once each (in barcode order, so two batches
    # never deadlock).
    barcodes = sorted({(item.get("tube") or "").strip() for item in items} & _valid_barcodes(items))
    user = _user(actor)
    known = set(Tube.objects.filter(round=round_, barcode__in=barcodes).values_list("barcode", flat=True))
    new_barcodes = [b for b in barcodes if b not in known]
    if new_barcodes:
        Tube.objects.bulk_create(
            [
                Tube(
                    round=round_,
                    neighbourhood_id=round_.neighbourhood_id,
                    barcode=b,
                    pool_size=round_.pool_size,
                    opened_by=user,
                )
                for b in new_barcodes
            ],
            ignore_conflicts=True,  # a concurrent batch may open the same tube: either row will do
        )
    tubes = {
        t.barcode: t
        for t in Tube.objects.select_for_update().filter(round=round_, barcode__in=barcodes).order_by("barcode")
    }
    if any(t.is_retest for t in tubes.values()):
        raise _SlowPath

    now = timezone.now()
    new_samples: list[tuple[int, Sample, Tube, str]] = []
    seen_in_batch: dict[int, str] = {}
    changed: set[str] = set()
    for i, item in enumerate(items):
        if keys[i] and keys[i] in stored:
            answers[i] = stored[keys[i]]
            continue
        try:
            barcode = _clean_barcode(item.get("tube", ""))
            if ids[i] is None or ids[i] not in residents:
                raise ScanRejected(MSG_UNKNOWN_CODE, status=404, code="unknown_code")
            resident = residents[ids[i]]
            if resident.neighbourhood_id != round_.neighbourhood_id:
                raise ScanRejected(MSG_NOT_IN_ROUND, status=422, code="not_in_round")
            tube = tubes[barcode]
            if tube.status != TubeStatus.OPEN:
                raise ScanRejected(MSG_TUBE_CLOSED, status=409, code="tube_closed")
            if tube.fill_count >= tube.pool_size:
                raise ScanRejected(MSG_TUBE_FULL, status=409, code="tube_full")
            if resident.pk in already or resident.pk in seen_in_batch:
                raise ScanRejected(
                    _msg_duplicate(already.get(resident.pk) or seen_in_batch[resident.pk]), status=409, code="duplicate"
                )
        except ScanRejected as exc:
            answers[i] = error_body(exc)
            continue
        seen_in_batch[resident.pk] = barcode
        tube.fill_count += 1
        if tube.fill_count >= tube.pool_size:
            tube.status = TubeStatus.CLOSED
            tube.closed_at = now
        changed.add(barcode)
        sample = Sample(
            round=round_,
            tube=tube,
            neighbourhood_id=round_.neighbourhood_id,
            building_id=resident.household.building_id if resident.household_id else None,
            resident=resident,
            kind=SampleKind.RESIDENT,
            sampled_by=user,
        )
        new_samples.append((i, sample, tube, resident.name))
        answers[i] = (0, {"fill": tube.fill_count})  # filled in below

    created = Sample.objects.bulk_create([s for _i, s, _t, _n in new_samples])
    if changed:
        Tube.objects.bulk_update([tubes[b] for b in sorted(changed)], ["fill_count", "status", "closed_at"])
    audit_rows = [
        audit_event(
            actor=actor,
            action="screening.tube_open",
            obj=tubes[b],
            neighbourhood_id=round_.neighbourhood_id,
            changes={"round": round_.pk, "pool_size": tubes[b].pool_size, "retest": False, "batch": True},
        )
        for b in new_barcodes
        if b in tubes and tubes[b].opened_by_id == (user.pk if user else None)
    ]
    records = []
    for (i, _s, tube, name), sample in zip(new_samples, created, strict=True):
        fill = answers[i][1]["fill"]  # type: ignore[index]
        body = {
            "sample_id": sample.pk,
            "tube": tube.barcode,
            "fill": fill,
            "pool_size": tube.pool_size,
            "full": fill >= tube.pool_size,
            "closed": fill >= tube.pool_size,
            "resident": sample.resident_id,
            "name": mask_name(name),
            "retest": False,
        }
        answers[i] = (201, body)
        audit_rows.append(
            audit_event(
                actor=actor,
                action="screening.sample",
                obj=sample,
                neighbourhood_id=round_.neighbourhood_id,
                changes={"round": round_.pk, "tube": tube.barcode, "fill": fill, "retest": False, "batch": True},
            )
        )
        if keys[i]:
            records.append(IdempotencyRecord(scope=scope, key=keys[i], status=201, body=body))
    AuditEvent.objects.bulk_create(audit_rows)
    if records:
        IdempotencyRecord.objects.bulk_create(records)
    return [a for a in answers if a is not None]


# The batch on PostgreSQL: two statements whatever the batch's size, the items sent as one JSON
# document each way (``json.dumps`` and ``jsonb_to_recordset``: no per-value adaptation in
# Python), the decisions in between made in Python exactly as ``_batch_fast`` makes them.
_BATCH_READ_SQL = None
_BATCH_WRITE_SQL = None


def _batch_sql() -> tuple[str, str]:
    """The read and the write statement of ``_batch_pg`` (names from the models, built once)."""
    global _BATCH_READ_SQL, _BATCH_WRITE_SQL
    if _BATCH_READ_SQL is None:
        qn = connection.ops.quote_name
        tube = qn(Tube._meta.db_table)
        sample = qn(Sample._meta.db_table)
        resident = qn(Resident._meta.db_table)
        household = qn(Household._meta.db_table)
        record = qn(IdempotencyRecord._meta.db_table)
        audit = qn(AuditEvent._meta.db_table)
        tube_cols = "id, barcode, fill_count, pool_size, status, is_retest"
        _BATCH_READ_SQL = (
            # x: the items (resident id, valid barcode, idempotency key); n: the tubes this batch
            # opens, in barcode order; e: the round's other tubes it names, locked in barcode order.
            # Every lookup probes the unique index with the whole key: the statement's plan must not
            # scan a round's samples or a sampler's answers, whatever the statistics say. The
            # residents and tubes by ``= ANY (ARRAY (…))``; the day's samples and the stored answers
            # one item at a time (LATERAL, kept apart from the join by OFFSET 0): in a day partition
            # not analysed yet, ``= ANY`` was left out of the index condition and filtered a round's
            # whole range (ADR 0023, addendum of stop 21).
            "WITH x AS (SELECT * FROM jsonb_to_recordset(%s::jsonb) AS x (r bigint, b text, k text)), "  # noqa: S608
            f"n AS (INSERT INTO {tube} (round_id, neighbourhood_id, barcode, pool_size, fill_count, status, "
            "is_retest, result, opened_by_id, opened_at, closed_at) "
            "SELECT %s, %s, d.b, %s, 0, %s, false, %s, %s, %s, NULL "
            "FROM (SELECT DISTINCT b FROM x WHERE b IS NOT NULL ORDER BY b) AS d "
            f"ON CONFLICT DO NOTHING RETURNING {tube_cols}), "
            f"e AS (SELECT {tube_cols} FROM {tube} WHERE round_id = %s AND barcode = ANY (ARRAY (SELECT b FROM x)) "
            "ORDER BY barcode FOR UPDATE) "
            "SELECT "
            f"(SELECT coalesce(json_agg(json_build_array({tube_cols}, true)), '[]') FROM n), "
            f"(SELECT coalesce(json_agg(json_build_array({tube_cols}, false)), '[]') FROM e), "
            "(SELECT coalesce(json_agg(json_build_array(r.id, r.name, r.neighbourhood_id, h.building_id)), '[]') "
            f"FROM {resident} r LEFT JOIN {household} h ON h.id = r.household_id "
            "WHERE r.id = ANY (ARRAY (SELECT x.r FROM x))), "
            "(SELECT coalesce(json_agg(json_build_array(s.resident_id, t.barcode)), '[]') "
            "FROM (SELECT DISTINCT x.r FROM x WHERE x.r IS NOT NULL) AS q "
            "JOIN LATERAL (SELECT s.resident_id, s.tube_id "
            f"FROM {sample} s WHERE s.round_id = %s AND s.resident_id = q.r AND NOT s.is_retest AND s.day = %s "
            f"OFFSET 0) AS s ON TRUE JOIN {tube} t ON t.id = s.tube_id), "
            "(SELECT coalesce(json_agg(json_build_array(a.key, a.status, a.body)), '[]') "
            "FROM (SELECT DISTINCT x.k FROM x WHERE x.k <> '') AS q "
            f"JOIN LATERAL (SELECT key, status, body FROM {record} WHERE scope = %s AND key = q.k OFFSET 0) "
            "AS a ON TRUE)"
        )
        _BATCH_WRITE_SQL = (
            # x: the accepted items; v: each changed tube's new fill (and whether it closes);
            # o: the tubes this batch opened (audited first, as ``tube_open`` would).
            "WITH x AS (SELECT * FROM jsonb_to_recordset(%s::jsonb) "  # noqa: S608
            "AS x (o int, t bigint, r bigint, bl bigint, tb text, f int, k text, body jsonb)), "
            "v AS (SELECT * FROM jsonb_to_recordset(%s::jsonb) AS v (id bigint, f int, c boolean)), "
            "o AS (SELECT * FROM jsonb_to_recordset(%s::jsonb) AS o (id bigint, b text)), "
            f"u AS (UPDATE {tube} SET fill_count = v.f, status = CASE WHEN v.c THEN %s ELSE status END, "
            "closed_at = CASE WHEN v.c THEN %s::timestamptz ELSE closed_at END "
            f"FROM v WHERE {tube}.id = v.id AND {tube}.id = ANY (ARRAY (SELECT v.id FROM v))), "
            f"s AS (INSERT INTO {sample} (round_id, tube_id, neighbourhood_id, building_id, resident_id, kind, "
            "is_retest, person_name, person_contact, person_contact_hash, sampled_by_id, sampled_at, day) "
            "SELECT %s, x.t, %s, x.bl, x.r, %s, false, '', '', '', %s, %s, %s FROM x ORDER BY x.o "
            "RETURNING id, resident_id), "
            "xs AS (SELECT x.*, s.id AS sid FROM x JOIN s ON s.resident_id = x.r), "
            f"a AS (INSERT INTO {audit} (created_at, actor_id, actor_label, action, object_type, object_id, "
            "object_repr, neighbourhood_id, changes, ip, user_agent, channel) "
            "SELECT %s, %s, %s, y.action, y.object_type, y.object_id, y.object_repr, %s, y.changes, %s, %s, %s "
            "FROM (SELECT 0 AS g, o.id AS n, 'screening.tube_open' AS action, %s AS object_type, "
            "o.id::text AS object_id, o.b || ' (0/' || %s::int || ')' AS object_repr, "
            "jsonb_build_object('round', %s::bigint, 'pool_size', %s::int, 'retest', false, 'batch', true) "
            "AS changes FROM o "
            "UNION ALL SELECT 1, xs.o, 'screening.sample', %s, xs.sid::text, '#' || xs.r || ' → ' || xs.t, "
            "jsonb_build_object('round', %s::bigint, 'tube', xs.tb, 'fill', xs.f, 'retest', false, 'batch', true) "
            "FROM xs) AS y ORDER BY y.g, y.n), "
            f"i AS (INSERT INTO {record} (scope, key, status, body, created_at) "
            "SELECT %s, xs.k, 201, xs.body || jsonb_build_object('sample_id', xs.sid), %s FROM xs WHERE xs.k <> '') "
            "SELECT coalesce(json_agg(json_build_array(xs.o, xs.sid)), '[]') FROM xs"
        )
    return _BATCH_READ_SQL, _BATCH_WRITE_SQL


def _batch_pg(*, actor, round_: Round, items: list[dict]) -> list[tuple[int, dict]]:
    """``_batch_fast`` on PostgreSQL in two statements (see ``_batch_sql``): one opens the batch's
    new tubes, locks the others and reads residents, earlier samples and stored answers; one writes
    the samples, the tubes' fills, the audit events and the idempotency records. The caller holds
    the transaction; a unique key taken by a concurrent writer raises ``IntegrityError`` and a tube
    the statement could not see (opened by a concurrent batch that committed after it started)
    raises ``_SlowPath``: the caller redoes the batch item by item."""
    from jiayuan.core.idempotency import MAX_KEY_LENGTH

    if any(item.get("retest") for item in items):
        raise _SlowPath
    read_sql, write_sql = _batch_sql()
    scope = idempotency_scope(actor, round_)[:200]
    try:
        _check_round_open(round_)
    except ScanRejected as exc:  # nothing is opened in a finished round; answered keys replay
        keys = [(item.get("idempotency_key") or "")[:MAX_KEY_LENGTH] for item in items]
        replay = {
            k: (status, body)
            for k, status, body in IdempotencyRecord.objects.filter(
                scope=scope, key__in=[k for k in keys if k]
            ).values_list("key", "status", "body")
        }
        return [replay[k] if k in replay else error_body(exc) for k in keys]
    keys: list[str] = []
    barcodes: list[str | None] = []
    ids: list[int | None] = []
    for item in items:
        keys.append((item.get("idempotency_key") or "")[:MAX_KEY_LENGTH])
        barcode = (item.get("tube") or "").strip()
        barcodes.append(barcode if BARCODE_RE.match(barcode) else None)
        ids.append(parse_sampling_code(item.get("resident_code", "")))
    user = _user(actor)
    user_id = user.pk if user else None
    now = timezone.now()
    nb_id = round_.neighbourhood_id
    pool = round_.pool_size
    doc = json.dumps([{"r": r, "b": b, "k": k} for r, b, k in zip(ids, barcodes, keys, strict=True)])
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(
            read_sql,
            [
                doc,
                round_.pk,
                nb_id,
                pool,
                TubeStatus.OPEN,
                TubeResult.PENDING,
                user_id,
                now,
                round_.pk,
                round_.pk,
                round_.date,
                scope,
            ],
        )
        opened, existing, resident_rows, sampled, stored_rows = cur.fetchone()
    tubes = {row[1]: row for row in (*opened, *existing)}  # barcode → [id, barcode, fill, pool, status, retest, new]
    if any(row[5] for row in tubes.values()) or any(b is not None and b not in tubes for b in barcodes):
        raise _SlowPath
    residents = {row[0]: row for row in resident_rows}  # id → [id, name, neighbourhood, building]
    already = dict(sampled)
    stored = {key: (status, body) for key, status, body in stored_rows}

    answers: list[tuple[int, dict]] = []
    accepted: list[dict] = []
    fills: dict[str, int] = {}
    seen_in_batch: dict[int, str] = {}
    for i, (rid, barcode, key) in enumerate(zip(ids, barcodes, keys, strict=True)):
        if key and key in stored:
            answers.append(stored[key])
            continue
        try:
            if barcode is None:
                raise ScanRejected(MSG_BAD_BARCODE, status=422, code="bad_barcode")
            resident = residents.get(rid) if rid is not None else None
            if resident is None:
                raise ScanRejected(MSG_UNKNOWN_CODE, status=404, code="unknown_code")
            if resident[2] != nb_id:
                raise ScanRejected(MSG_NOT_IN_ROUND, status=422, code="not_in_round")
            tube = tubes[barcode]
            fill = fills.get(barcode, tube[2])
            if tube[4] != TubeStatus.OPEN or (barcode in fills and fill >= tube[3]):  # closed, or by this batch
                raise ScanRejected(MSG_TUBE_CLOSED, status=409, code="tube_closed")
            if fill >= tube[3]:
                raise ScanRejected(MSG_TUBE_FULL, status=409, code="tube_full")
            if rid in already or rid in seen_in_batch:
                raise ScanRejected(_msg_duplicate(already.get(rid) or seen_in_batch[rid]), status=409, code="duplicate")
        except ScanRejected as exc:
            answers.append(error_body(exc))
            continue
        seen_in_batch[rid] = barcode
        fill += 1
        fills[barcode] = fill
        full = fill >= tube[3]
        body = {
            "tube": barcode,
            "fill": fill,
            "pool_size": tube[3],
            "full": full,
            "closed": full,
            "resident": rid,
            "name": mask_name(resident[1]),
            "retest": False,
        }
        answers.append((201, body))
        accepted.append(
            {"o": i, "t": tube[0], "r": rid, "bl": resident[3], "tb": barcode, "f": fill, "k": key, "body": body}
        )
    new_tubes = [{"id": row[0], "b": row[1]} for row in opened]
    if not accepted and not new_tubes:
        return answers
    changed = [{"id": tubes[b][0], "f": f, "c": f >= tubes[b][3]} for b, f in sorted(fills.items())]
    ctx = context.current()
    label = (user.get_username() if user else str(actor or ""))[:150]
    with rawsql.hot_cursor(connection) as cur:
        cur.execute(
            write_sql,
            [
                json.dumps(accepted),
                json.dumps(changed),
                json.dumps(new_tubes),
                TubeStatus.CLOSED,
                now,
                round_.pk,
                nb_id,
                SampleKind.RESIDENT,
                user_id,
                now,
                round_.date,
                now,
                user_id,
                label,
                nb_id,
                ctx.ip,
                ctx.user_agent,
                ctx.channel,
                Tube._meta.label_lower,
                pool,
                round_.pk,
                pool,
                Sample._meta.label_lower,
                round_.pk,
                scope,
                now,
            ],
        )
        (sample_ids,) = cur.fetchone()
    for index, sample_id in sample_ids:
        body = answers[index][1]
        answers[index] = (201, {"sample_id": sample_id, **body})
    return answers
