"""Drill-down pages: compounds ▸ buildings ▸ households ▸ residents, and household links."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiayuan.accounts import services as account_services
from jiayuan.accounts.models import HouseholdLink
from jiayuan.core import qr
from jiayuan.core.extensions import household_panels, render_panels
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can, get_scoped_or_404
from jiayuan.places import qr_cards, selectors
from jiayuan.places.models import Building, Compound


@login_required
def compound_list(request):
    compounds = selectors.compound_list(user=request.user, action=Action.VIEW_ROSTER)
    return render(request, "places/compound_list.html", {"compounds": compounds})


@login_required
def compound_detail(request, compound_id: int):
    compound = selectors.compound_get(user=request.user, compound_id=compound_id, action=Action.VIEW_ROSTER)
    buildings = selectors.building_list(user=request.user, compound_id=compound.pk, action=Action.VIEW_ROSTER)
    return render(
        request,
        "places/compound_detail.html",
        {
            "compound": compound,
            "buildings": buildings,
            "can_print_cards": can(request.user, Action.MANAGE_HOUSEHOLD_LINKS, compound),
        },
    )


@login_required
def building_detail(request, building_id: int):
    building = selectors.building_get(user=request.user, building_id=building_id, action=Action.VIEW_ROSTER)
    households = selectors.household_list(user=request.user, building_id=building.pk)
    return render(
        request,
        "places/building_detail.html",
        {
            "building": building,
            "households": households,
            "can_print_cards": can(request.user, Action.MANAGE_HOUSEHOLD_LINKS, building),
        },
    )


@login_required
def household_detail(request, household_id: int):
    household = selectors.household_get(user=request.user, household_id=household_id)
    residents = household.residents.prefetch_related("tag_rows").order_by("id")
    manage = can(request.user, Action.MANAGE_HOUSEHOLD_LINKS, household)
    link = household.access_links.filter(revoked_at__isnull=True).first() if manage else None
    return render(
        request,
        "places/household_detail.html",
        {
            "household": household,
            "residents": residents,
            "link": link,
            "can_manage_links": manage,
            "can_change": can(request.user, Action.CHANGE_RESIDENT, household),
        },
    )


def _household_for_links(request, household_id: int):
    return get_scoped_or_404(selectors.household_base(), request.user, Action.MANAGE_HOUSEHOLD_LINKS, pk=household_id)


@login_required
@require_POST
def household_link_issue(request, household_id: int):
    household = _household_for_links(request, household_id)
    account_services.household_link_issue(actor=request.user, household=household)
    messages.success(request, _("已生成新的住户链接, 旧链接(如有)已失效。"))
    return redirect("places:household_link_card", household_id=household.pk)


@login_required
@require_POST
def household_link_revoke(request, household_id: int):
    household = _household_for_links(request, household_id)
    link = household.access_links.filter(revoked_at__isnull=True).first()
    if link is None:
        raise Http404
    try:
        account_services.household_link_revoke(actor=request.user, link=link)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("住户链接已吊销, 扫描旧二维码将无法使用。"))
    return redirect("places:household", household_id=household.pk)


def _link_url(request, token: str) -> str:
    path = reverse("household_home", args=[token])
    if settings.JIAYUAN_PUBLIC_URL:
        return settings.JIAYUAN_PUBLIC_URL + path
    return request.build_absolute_uri(path)


@login_required
def household_link_card(request, household_id: int):
    """A printable card with the QR code, handed to the household (the card says not to share it)."""
    household = _household_for_links(request, household_id)
    try:
        token = account_services.household_link_print(actor=request.user, household=household)
    except HouseholdLink.DoesNotExist:
        messages.info(request, _("该住户还没有有效链接, 请先生成。"))
        return redirect("places:household", household_id=household.pk)
    url = _link_url(request, token)
    qr_svg = qr.qr_svg(url, scale=6, omitsize=False)
    return render(
        request,
        "places/household_link_card.html",
        {"household": household, "url": url, "qr_svg": qr_svg, "message": _link_message(household, url)},
    )


@login_required
def household_link_qr(request, household_id: int):
    """The QR code alone as SVG (for bulk printing templates)."""
    household = _household_for_links(request, household_id)
    try:
        token = account_services.household_link_print(actor=request.user, household=household)
    except HouseholdLink.DoesNotExist as exc:
        raise Http404 from exc
    return HttpResponse(qr.qr_code(_link_url(request, token)).svg_inline(scale=8), content_type="image/svg+xml")


def _link_message(household, url: str) -> str:
    """The short WeChat message that goes with a household's link."""
    b = household.building
    return _(
        "%(place)s 住户您好: 这是您家的「家园」链接, 点开即可查看本户核酸、物资和通知, 无需注册。"
        "请勿转发给他人, 丢失请联系楼组长重新生成。\n%(url)s"
    ) % {"place": f"{b.compound.name} {b.name} {household.label}", "url": url}


def _qr_cards_page(request, *, building: Building | None = None, compound: Compound | None = None):
    """Household QR cards of a building or a compound, 8 to an A4 sheet. POST issues the missing
    links (audited per household), then shows the page again."""
    households = list(
        qr_cards.card_households(
            user=request.user,
            building_id=building.pk if building else None,
            compound_id=compound.pk if compound else None,
        )
    )
    if request.method == "POST":
        issued = qr_cards.household_links_issue_missing(actor=request.user, households=households)
        messages.success(request, _("已为 %(n)s 户生成住户链接。") % {"n": issued})
        return redirect(request.path)
    cards, missing = qr_cards.household_cards_print(actor=request.user, households=households)
    rendered = [{"household": h, "qr_svg": qr.qr_svg(_link_url(request, token), scale=4)} for h, token in cards]
    return render(
        request,
        "places/qr_cards.html",
        {
            "building": building,
            "compound": compound or building.compound,
            "cards": rendered,
            "missing": missing,
            "household_count": len(households),
        },
    )


@login_required
def building_qr_cards(request, building_id: int):
    building = get_scoped_or_404(
        Building.objects.select_related("compound"), request.user, Action.MANAGE_HOUSEHOLD_LINKS, pk=building_id
    )
    return _qr_cards_page(request, building=building)


@login_required
def compound_qr_cards(request, compound_id: int):
    compound = get_scoped_or_404(Compound.objects.all(), request.user, Action.MANAGE_HOUSEHOLD_LINKS, pk=compound_id)
    return _qr_cards_page(request, compound=compound)


def household_home(request, token: str):
    """What a household sees when it scans its QR code: no account needed."""
    link = account_services.household_link_resolve(token)
    if link is None:
        return render(request, "places/household_link_invalid.html", status=404)
    household = link.household
    residents = household.residents.without_secrets().order_by("id")
    panels = render_panels(household_panels(), request, household, link)
    return render(
        request,
        "places/household_home.html",
        {"household": household, "residents": residents, "panels": panels, "token": token},
    )
