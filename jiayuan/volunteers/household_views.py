"""A household applies to volunteer through its link; its home page shows who already does."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from jiayuan.accounts.household_views import page_token
from jiayuan.accounts.household_views import with_household_link as _with_link
from jiayuan.core.forms import apply_service_errors
from jiayuan.supplies.services import link_actor
from jiayuan.volunteers import forms, services
from jiayuan.volunteers.choices import VolunteerStatus
from jiayuan.volunteers.models import Volunteer


def panel(request, household, link):
    """The household home page's card: members who volunteer (and their status), and how to apply."""
    rows = list(
        Volunteer.objects.filter(resident__household=household).exclude(status=VolunteerStatus.LEFT).order_by("name")
    )
    return (
        "volunteers/household/panel.html",
        {"token": page_token(request, link), "rows": rows},
    )


@_with_link
def apply(request, token, link, household):
    taken = Volunteer.objects.filter(resident__household=household).values("resident_id")
    residents = list(household.residents.exclude(pk__in=taken).order_by("id"))
    form = forms.ApplyForm(request.POST or None, residents=residents)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        resident = next((r for r in residents if r.pk == d["resident"]), None)
        try:
            services.volunteer_create(
                actor=link_actor(link),
                neighbourhood=household.neighbourhood,
                resident=resident,
                skills=d["skills"],
                availability=d["availability"],
                party_member=d["party_member"],
                dual_registration_org=d["dual_registration_org"],
                commitment_signed=d["commitment_signed"],
                status=VolunteerStatus.APPLIED,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("已提交志愿者报名, 居委会审核后会联系您。谢谢!"))
            return redirect("household_home", token=token)
    return render(request, "volunteers/household/apply.html", {"form": form, "token": token, "residents": residents})
