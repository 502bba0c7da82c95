"""Pages a household opens through its link (no account): order, vote, book, apply to lead."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiayuan.accounts.household_views import page_token
from jiayuan.accounts.household_views import with_household_link as _with_link
from jiayuan.control.selectors import household_may_go_out
from jiayuan.core.forms import apply_service_errors
from jiayuan.supplies import forms, selectors, services
from jiayuan.supplies.choices import GroupBuyStatus, LeaderStatus, SelectionMode
from jiayuan.supplies.models import AppointmentWindow, GroupBuy

S = GroupBuyStatus


def panel(request, household, link):
    """The household home page's supplies card: open group buys and a link to the page."""
    from django.utils import timezone

    open_count = GroupBuy.objects.filter(compound_id=household.building.compound_id, status=S.OPEN).count()
    voting = (
        selectors.bidding_groups(compound_id=household.building.compound_id)
        if services.settings_for(household.neighbourhood_id).selection_mode == SelectionMode.VOTE
        else []
    )
    windows = AppointmentWindow.objects.filter(
        neighbourhood_id=household.neighbourhood_id, ends_at__gt=timezone.now()
    ).count()
    token = page_token(request, link)
    return (
        "supplies/household/panel.html",
        {"token": token, "open_count": open_count, "voting": len(voting), "windows": windows},
    )


@_with_link
def home(request, token, link, household):
    settings = services.settings_for(household.neighbourhood_id)
    groups = []
    if settings.selection_mode == SelectionMode.VOTE:
        groups = selectors.bidding_groups(compound_id=household.building.compound_id)
        votes = selectors.household_votes(household=household, bidding_keys=[g["key"] for g in groups])
        for g in groups:
            g["voted_for"] = votes.get(g["key"])
    leader = selectors.household_leader(household=household)
    bookings = list(selectors.household_bookings(household=household))
    may_go_out, go_out_reason = household_may_go_out(household)
    return render(
        request,
        "supplies/household/index.html",
        {
            "token": token,
            "household": household,
            "group_buys": selectors.household_group_buys(household=household)[:20],
            "groups": groups,
            "orders": selectors.household_orders(household=household)[:20],
            "windows": selectors.household_windows(household=household),
            "bookings": bookings,
            "booked_campaigns": {b.campaign_id for b in bookings},
            "leader": leader,
            "leader_buys": leader.group_buys.order_by("-delivery_date")[:10] if leader else [],
            "leader_active": leader is not None and leader.is_active(),
            "S": S,
            "booking_form": forms.BookingForm(),
            "may_go_out": may_go_out,
            "go_out_reason": go_out_reason,
        },
    )


@_with_link
def order(request, token, link, household, group_buy_id: int):
    gb = GroupBuy.objects.filter(pk=group_buy_id, compound_id=household.building.compound_id).first()
    if gb is None:
        raise Http404
    items = list(gb.items.all())
    may_go_out, reason = household_may_go_out(household)
    form = forms.OrderForm(
        request.POST or None,
        items=items,
        pickup_refused=None if may_go_out else reason,
        initial={"idempotency_key": uuid.uuid4().hex},
    )
    if request.method == "POST" and form.is_valid():
        try:
            _order, created = services.order_place(
                actor=services.link_actor(link),
                group_buy=gb,
                household=household,
                quantities=form.quantities(),
                delivery_mode=form.cleaned_data["delivery_mode"],
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("下单成功, 请按团长的方式付款。") if created else _("订单已提交过了。"))
            return redirect("supplies_household:home", token=token)
    return render(
        request,
        "supplies/household/order.html",
        {
            "token": token,
            "household": household,
            "gb": gb,
            "form": form,
            "orders": selectors.household_orders(household=household, group_buy=gb),
            "is_open": gb.status == S.OPEN,
        },
    )


@require_POST
@_with_link
def vote(request, token, link, household, group_buy_id: int):
    gb = GroupBuy.objects.filter(pk=group_buy_id, compound_id=household.building.compound_id).first()
    if gb is None:
        raise Http404
    try:
        services.vote_cast(actor=services.link_actor(link), household=household, group_buy=gb)
    except ValidationError as exc:
        for m in exc.messages:
            messages.error(request, m)
    else:
        messages.success(request, _("已投票, 谢谢!"))
    return redirect("supplies_household:home", token=token)


@_with_link
def leader_apply(request, token, link, household):
    form = forms.LeaderApplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.leader_apply(
                actor=services.link_actor(link),
                household=household,
                name=d["name"],
                phone=d["phone"],
                channel=d["channel"],
                note=d["note"],
                documents=form.documents(),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("申请已提交, 请等待居委会和业委会审核。"))
            return redirect("supplies_household:home", token=token)
    return render(request, "supplies/household/apply.html", {"token": token, "household": household, "form": form})


def _own_leader(household):
    leader = selectors.household_leader(household=household)
    if leader is None or leader.status in (LeaderStatus.PENDING, LeaderStatus.REJECTED):
        raise Http404
    return leader


@_with_link
def leader_propose(request, token, link, household):
    leader = _own_leader(household)
    form = forms.ProposalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.group_buy_propose(
                actor=services.link_actor(link),
                leader=leader,
                **form.proposal(),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("方案已提交, 进入比价。"))
            return redirect("supplies_household:home", token=token)
    return render(request, "supplies/proposal_form.html", {"form": form, "leader": leader, "token": token})


@require_POST
@_with_link
def leader_action(request, token, link, household, group_buy_id: int, action: str):
    """The leader opens (接龙) their selected group buy, or closes it."""
    leader = _own_leader(household)
    gb = GroupBuy.objects.filter(pk=group_buy_id, leader=leader).first()
    fn = {"open": services.group_buy_open, "close": services.group_buy_close}.get(action)
    if gb is None or fn is None:
        raise Http404
    try:
        fn(actor=services.link_actor(link), group_buy=gb)
    except ValidationError as exc:
        for m in exc.messages:
            messages.error(request, m)
    else:
        messages.success(request, _("已开团") if action == "open" else _("已截单"))
    return redirect("supplies_household:home", token=token)


@require_POST
@_with_link
def book(request, token, link, household, window_id: int):
    window = AppointmentWindow.objects.filter(pk=window_id, neighbourhood_id=household.neighbourhood_id).first()
    if window is None:
        raise Http404
    form = forms.BookingForm(request.POST)
    if form.is_valid():
        try:
            booking = services.booking_create(
                actor=services.link_actor(link),
                window=window,
                household=household,
                quantity=form.cleaned_data["quantity"],
                mode=form.cleaned_data["mode"],
            )
        except ValidationError as exc:
            for m in exc.messages:
                messages.error(request, m)
        else:
            messages.success(request, _("预约成功, 凭证号 %(v)s, 请按时凭号领取。") % {"v": booking.voucher})
    else:
        messages.error(request, _("请填写数量"))
    return redirect("supplies_household:home", token=token)


def home_panel(request):
    """A card on the staff home page: low stock, leaders waiting for review, goods ready to sort."""
    from jiayuan.core.permissions import Action
    from jiayuan.core.scoping import can

    user = request.user
    if not can(user, Action.VIEW_SUPPLIES):
        return None
    low = [s for s in selectors.stock_list(user=user) if s.is_low]
    pending = (
        selectors.leader_list(user=user, status=LeaderStatus.PENDING).count() if can(user, Action.REVIEW_LEADERS) else 0
    )
    ready = selectors.group_buy_list(user=user, status="ready").count()
    expiring = (
        [ld for ld in selectors.leader_list(user=user, status=LeaderStatus.APPROVED) if ld.documents_expire_soon()]
        if can(user, Action.REVIEW_LEADERS)
        else []
    )
    if not (low or pending or ready or expiring):
        return None
    context = {"low": low, "pending": pending, "ready": ready, "expiring": expiring}
    return "supplies/home_panel.html", context
