"""Pages a household opens through its link (no account): raise a request, follow its steps,
confirm or reopen it, send a suggestion and read the replies."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiayuan.accounts.household_views import page_token
from jiayuan.accounts.household_views import with_household_link as _with_link
from jiayuan.care import forms, selectors, services
from jiayuan.care.choices import OPEN_STATUSES, Category, Source, Status
from jiayuan.care.models import CareRequest
from jiayuan.core.forms import apply_service_errors
from jiayuan.supplies.services import link_actor

_token = page_token


def panel(request, household, link):
    """The household home page's card: open requests and replies to its suggestions."""
    open_requests = [r for r in selectors.household_requests(household=household) if r.status in OPEN_STATUSES]
    done = CareRequest.objects.filter(household=household, status=Status.DONE).count()
    replies = selectors.household_replies(household=household)[:3]
    return (
        "care/household/panel.html",
        {"token": _token(request, link), "open_requests": open_requests, "done": done, "replies": replies},
    )


@_with_link
def home(request, token, link, household):
    residents = list(household.residents.without_secrets().order_by("id"))
    form = forms.HouseholdRequestForm(
        request.POST or None, residents=residents, initial={"idempotency_key": uuid.uuid4().hex}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        resident = next((r for r in residents if r.pk == data["resident"]), None)
        items = None
        if data["category"] == Category.MEDICINE:
            items = [
                {
                    "name": data["medicine"],
                    "quantity": data["quantity"],
                    "hospital": data["hospital"],
                    "handed_over": data["handed_over"] or "none",
                }
            ]
        try:
            services.request_create(
                actor=link_actor(link),
                household=household,
                resident=resident,
                category=data["category"],
                urgency=data["urgency"],
                description=data["description"],
                source=Source.LINK,
                idempotency_key=data["idempotency_key"],
                items=items,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("已提交, 居委会会尽快受理"))
            return redirect("care_household:home", token)
    return render(
        request,
        "care/household/index.html",
        {
            "token": token,
            "household": household,
            "form": form,
            "requests": selectors.household_requests(household=household),
            "suggestions": selectors.household_suggestions(household=household),
            "replies": selectors.household_replies(household=household),
            "suggestion_form": forms.SuggestionForm(),
        },
    )


@_with_link
@require_POST
def confirm(request, token, link, household, request_id: int):
    req = CareRequest.objects.filter(pk=request_id, household=household).first()
    if req is None:
        return render(request, "places/household_link_invalid.html", status=404)
    target = Status.REOPENED if request.POST.get("action") == "reopen" else Status.CONFIRMED
    try:
        services.request_transition(
            actor=link_actor(link), request=req, status=target, note=request.POST.get("note", ""), by_household=True
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("谢谢确认") if target == Status.CONFIRMED else _("已重新打开, 居委会会再跟进"))
    return redirect("care_household:home", token)


@_with_link
@require_POST
def suggest(request, token, link, household):
    form = forms.SuggestionForm(request.POST)
    if form.is_valid():
        try:
            services.suggestion_submit(actor=link_actor(link), household=household, text=form.cleaned_data["text"])
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("谢谢您的意见, 答复后会显示在这里"))
    else:
        messages.error(request, _("请写下您的意见(500字以内)"))
    return redirect("care_household:home", token)
