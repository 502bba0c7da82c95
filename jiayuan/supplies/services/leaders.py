"""Group-buy leaders: applications with their permits, review, expiry, exports audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.people.normalize import normalize_phone
from jiayuan.places.models import Household
from jiayuan.supplies.choices import (
    DocumentKind,
    LeaderStatus,
)
from jiayuan.supplies.models import (
    ALLOWED_DOCUMENT_TYPES,
    MAX_DOCUMENT_BYTES,
    GroupBuy,
    GroupBuyLeader,
    LeaderDocument,
)

# Leaders -----------------------------------------------------------------------------------


def document_check(*, filename: str, data: bytes) -> str:
    """The content type of an uploaded permit/licence scan; JPEG, PNG or PDF up to 5 MB."""
    if not data:
        raise ValidationError("文件为空")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ValidationError(f"文件过大(最大 {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB)")
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:5] == b"%PDF-":
        return "application/pdf"
    raise ValidationError("只接受 JPG、PNG 图片或 PDF 文件")


def _document_create(*, leader: GroupBuyLeader, doc: dict[str, Any], field: str) -> LeaderDocument:
    kind = doc.get("kind")
    if kind not in DocumentKind.values:
        raise ValidationError({field: ["证件类型不正确"]})
    expires_on = doc.get("expires_on")
    if not isinstance(expires_on, dt.date):
        raise ValidationError({f"{field}_expires_on": ["请填写有效期"]})
    data = doc.get("data") or b""
    try:
        content_type = document_check(filename=doc.get("filename", ""), data=data)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc
    filename = (doc.get("filename") or f"{kind}{ALLOWED_DOCUMENT_TYPES[content_type]}")[-200:]
    return LeaderDocument.objects.create(
        neighbourhood_id=leader.neighbourhood_id,
        leader=leader,
        kind=kind,
        number=(doc.get("number") or "")[:64],
        expires_on=expires_on,
        filename=filename,
        content_type=content_type,
        size=len(data),
        data=data,
    )


@transaction.atomic
def leader_apply(
    *,
    actor,
    household: Household,
    name: str,
    phone: str = "",
    channel: str,
    note: str = "",
    documents: Iterable[dict[str, Any]] = (),
) -> GroupBuyLeader:
    """A resident applies to be a group-buy leader (through the household link, or staff
    register the application). ``documents``: dicts with kind, number, expires_on, filename, data.
    """
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    channel = (channel or "").strip()
    if not name:
        errors["name"] = ["请填写姓名"]
    if not channel:
        errors["channel"] = ["请填写渠道或供应商"]
    try:
        phone = normalize_phone(phone)
    except ValidationError as exc:
        errors["phone"] = exc.messages
    docs = list(documents)
    kinds = {d.get("kind") for d in docs}
    for kind in DocumentKind.values:
        if kind not in kinds:
            errors[f"{kind}_file"] = [f"请上传{DocumentKind(kind).label}"]
    if errors:
        raise ValidationError(errors)
    # One live application per household: a resubmitted form (or a second tap) does not pile
    # up applications for the committee to review. The household row is the lock.
    Household.objects.select_for_update().filter(pk=household.pk).first()
    if GroupBuyLeader.objects.filter(
        household=household, status__in=[LeaderStatus.PENDING, LeaderStatus.APPROVED]
    ).exists():
        raise ValidationError("本户已有待审核或已通过的团长申请,不能重复申请")
    leader = GroupBuyLeader.objects.create(
        neighbourhood_id=household.neighbourhood_id,
        household=household,
        name=name[:64],
        phone=phone,
        channel=channel[:200],
        note=note,
    )
    for doc in docs:
        _document_create(leader=leader, doc=doc, field=f"{doc.get('kind')}_file")
    audit_record(
        actor=actor,
        action="supplies.leader_apply",
        obj=leader,
        changes={"household": household.pk, "documents": sorted(kinds)},
    )
    return leader


@transaction.atomic
def leader_document_add(
    *, actor, leader: GroupBuyLeader, kind: str, number: str, expires_on, filename: str, data: bytes
):
    """A renewed permit or licence. A suspended leader goes back to review."""
    doc = _document_create(
        leader=leader,
        doc={"kind": kind, "number": number, "expires_on": expires_on, "filename": filename, "data": data},
        field="file",
    )
    leader = GroupBuyLeader.objects.select_for_update().get(pk=leader.pk)
    if leader.status == LeaderStatus.SUSPENDED:
        leader.status = LeaderStatus.PENDING
        leader.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="supplies.leader_document_add",
        obj=leader,
        changes={"kind": kind, "expires_on": expires_on.isoformat(), "document": doc.pk},
    )
    return doc


@transaction.atomic
def leader_document_open(*, actor, document: LeaderDocument) -> LeaderDocument:
    """Record that a staff member opened a leader's uploaded document (the caller has scoped it)."""
    audit_record(
        actor=actor,
        action="supplies.leader_document_view",
        obj=document.leader,
        neighbourhood_id=document.neighbourhood_id,
        changes={"document": document.pk, "kind": document.kind},
    )
    return document


@transaction.atomic
def export_record(*, actor, kind: str, households: int, group_buy: GroupBuy | None = None) -> None:
    """Audit a spreadsheet export (sorting sheet or delivery checklist): what, and how many households."""
    audit_record(
        actor=actor,
        action=f"supplies.{kind}_export",
        obj=group_buy,
        object_type="" if group_buy else "supplies.checklist",
        object_repr="" if group_buy else f"送货清单 {households} 户",
        changes={"households": households},
    )


@transaction.atomic
def leader_review(*, actor, leader: GroupBuyLeader, approve: bool, reason: str = "") -> GroupBuyLeader:
    """The committee or the owners' committee approves or rejects an application."""
    leader = GroupBuyLeader.objects.select_for_update().get(pk=leader.pk)
    reason = (reason or "").strip()
    if leader.status == LeaderStatus.APPROVED and approve:
        raise ValidationError("该团长已经通过审核")
    if approve:
        until = leader.documents_valid_until()
        if until is None:
            raise ValidationError("证件不全:需要防疫物资许可/保供证明和食品经营许可证")
        if until < timezone.localdate():
            raise ValidationError("证件已过期,不能通过审核")
    elif not reason:
        raise ValidationError({"reason": ["驳回时请填写原因"]})
    before = leader.status
    leader.status = LeaderStatus.APPROVED if approve else LeaderStatus.REJECTED
    leader.review_reason = reason
    leader.reviewed_by = _user(actor)
    leader.reviewed_at = timezone.now()
    leader.suspended_at = None
    leader.save()
    audit_record(
        actor=actor,
        action="supplies.leader_approve" if approve else "supplies.leader_reject",
        obj=leader,
        changes={"status": [before, leader.status], "reason": reason},
    )
    return leader


@transaction.atomic
def leaders_suspend_expired(*, actor, on: dt.date | None = None) -> list[int]:
    """Record the suspension of every approved leader whose documents have expired."""
    on = on or timezone.localdate()
    suspended = []
    qs = GroupBuyLeader.objects.select_for_update().filter(status=LeaderStatus.APPROVED)
    for leader in qs.prefetch_related("documents"):
        if leader.effective_status(on) == LeaderStatus.SUSPENDED:
            leader.status = LeaderStatus.SUSPENDED
            leader.suspended_at = timezone.now()
            leader.save(update_fields=["status", "suspended_at"])
            audit_record(
                actor=actor,
                action="supplies.leader_suspend",
                obj=leader,
                changes={"documents_valid_until": str(leader.documents_valid_until())},
            )
            suspended.append(leader.pk)
    return suspended


def _require_active_leader(leader: GroupBuyLeader) -> None:
    leader = GroupBuyLeader.objects.prefetch_related("documents").get(pk=leader.pk)
    status = leader.effective_status()
    if status != LeaderStatus.APPROVED:
        if status == LeaderStatus.SUSPENDED:
            raise ValidationError({"leader": ["团长证件已过期,已暂停开团"]})
        raise ValidationError({"leader": ["团长尚未通过资质审核"]})


# Group buys --------------------------------------------------------------------------------
