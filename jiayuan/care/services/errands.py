"""Medicine errands: items, costs, batches by hospital and the runs that carry them."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from jiayuan.accounts.models import User
from jiayuan.care.choices import (
    OPEN_STATUSES,
    RunStatus,
    Status,
)
from jiayuan.care.models import (
    CareRequest,
    ErrandRun,
)
from jiayuan.care.services.requests import _event, request_transition
from jiayuan.core.actors import acting_user as _user
from jiayuan.core.audit import audit_record
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can

# Medicine errands ------------------------------------------------------------------------------


@transaction.atomic
def errand_cost(*, actor, request: CareRequest, cost: Decimal | None, paid: bool) -> CareRequest:
    if cost is not None and (cost < 0 or cost > Decimal("1000000")):
        raise ValidationError({"cost": [_("费用不正确")]})
    request.cost, request.paid = cost, paid
    request.save(update_fields=["cost", "paid"])
    audit_record(actor=actor, action="care.errand_cost", obj=request, changes={"cost": str(cost), "paid": paid})
    return request


def errand_batches(requests) -> dict[str, list[CareRequest]]:
    """Open medicine errands not yet in a run, by hospital (the hospital of their first medicine)."""
    batches: dict[str, list[CareRequest]] = {}
    for req in requests:
        items = list(req.errand_items.all())
        if items:
            batches.setdefault(items[0].hospital, []).append(req)
    return dict(sorted(batches.items(), key=lambda kv: (-len(kv[1]), kv[0])))


@transaction.atomic
def errand_run_create(
    *, actor, neighbourhood_id: int, hospital: str, volunteer: User, requests: list[CareRequest]
) -> ErrandRun:
    """One run to ``hospital`` for ``volunteer`` with these errands: each is assigned and accepted."""
    if not requests:
        raise ValidationError({"hospital": [_("这家医院/药店没有待跑腿的配药诉求")]})
    run = ErrandRun.objects.create(
        neighbourhood_id=neighbourhood_id, hospital=hospital, volunteer=volunteer, created_by=_user(actor)
    )
    for req in requests:
        locked = CareRequest.objects.select_for_update().get(pk=req.pk)
        if locked.errand_run_id is not None or locked.status not in OPEN_STATUSES:
            raise ValidationError({"hospital": [_("有诉求已在其他批次或已办结, 请刷新后重试")]})
        if not can(volunteer, Action.HANDLE_REQUESTS, locked):
            raise ValidationError({"volunteer": [_("此人不能办理这些诉求(不在其负责范围)")]})
        locked.errand_run = run
        locked.assignee = volunteer
        locked.save(update_fields=["errand_run", "assignee"])
        _event(locked, actor, locked.status, _("并入 %(h)s 跑腿批次, 由 %(v)s 取药") % {"h": hospital, "v": volunteer})
        if locked.status in (Status.NEW, Status.REOPENED):
            request_transition(actor=actor, request=locked, status=Status.ACCEPTED)
    audit_record(
        actor=actor,
        action="care.errand_run_create",
        obj=run,
        object_repr=f"#{run.pk} {hospital}",
        changes={"requests": [r.pk for r in requests], "volunteer": str(volunteer)},
    )
    return run


def run_done(*, actor, run: ErrandRun) -> ErrandRun:
    run.status = RunStatus.DONE
    run.save(update_fields=["status"])
    audit_record(actor=actor, action="care.errand_run_done", obj=run, object_repr=f"#{run.pk} {run.hospital}")
    return run
