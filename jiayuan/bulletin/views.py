"""Staff pages of the bulletin app and the public pages of a neighbourhood's bulletins and notices.

Thin: resolve through the user's scope (or the public key), call a service or selector, render.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiayuan.bulletin import charts, dashboards, exports, forms, links, selectors, services
from jiayuan.bulletin.choices import NoticeKind
from jiayuan.bulletin.image import bulletin_png
from jiayuan.bulletin.rendering import BULLETIN_LANGUAGE
from jiayuan.core import extensions
from jiayuan.core.forms import apply_service_errors
from jiayuan.core.pagination import paginate
from jiayuan.core.permissions import Action
from jiayuan.core.qr import qr_svg
from jiayuan.core.replicas import replica_ok
from jiayuan.core.scoping import can, restrict
from jiayuan.places.models import Building, Compound, Neighbourhood


def _require(user, action: str) -> None:
    if not can(user, action):
        raise Http404


def _day(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _neighbourhoods(user, action: str):
    return restrict(Neighbourhood.objects.order_by("code"), user, action)


@login_required
def index(request):
    """日报通知: the bulletins the user edits, the compose form, links to notices, trends, roll-up."""
    if not (can(request.user, Action.EDIT_BULLETIN) or can(request.user, Action.MANAGE_NOTICES)):
        raise Http404
    form = None
    bulletins = None
    if can(request.user, Action.EDIT_BULLETIN):
        form = forms.ComposeForm(
            request.POST or None, neighbourhoods=_neighbourhoods(request.user, Action.EDIT_BULLETIN)
        )
        if request.method == "POST" and form.is_valid():
            bulletin = services.bulletin_compose(
                actor=request.user, neighbourhood=form.cleaned_data["neighbourhood"], date=form.cleaned_data["date"]
            )
            return redirect("bulletin:detail", bulletin_id=bulletin.pk)
        bulletins = paginate(request, selectors.bulletin_list(user=request.user))
    return render(request, "bulletin/index.html", {"form": form, "page": bulletins})


def _context(bulletin, request=None) -> dict:
    return {"bulletin": bulletin, "sections": bulletin.sections, "notices": bulletin.notices}


@login_required
def detail(request, bulletin_id: int):
    """Preview of a draft (recomposed by "刷新"), the publish form; a published one with its links."""
    bulletin = selectors.bulletin_get(user=request.user, bulletin_id=bulletin_id)
    form = None
    if not bulletin.is_published:
        recent = selectors.notice_list(user=request.user, action=Action.EDIT_BULLETIN).filter(
            neighbourhood=bulletin.neighbourhood, created_at__date__gte=bulletin.date - dt.timedelta(days=6)
        )
        form = forms.PublishForm(
            request.POST or None,
            notices=recent,
            initial={"notices": [str(n["id"]) for n in bulletin.notices]},
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.bulletin_publish(
                    actor=request.user,
                    bulletin=bulletin,
                    note=form.cleaned_data["note"],
                    notice_ids=[int(i) for i in form.cleaned_data["notices"]],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except services.BulletinPublished as exc:
                messages.error(request, str(exc))
                return redirect("bulletin:detail", bulletin_id=bulletin.pk)
            else:
                messages.success(request, _("日报已发布"))
                return redirect("bulletin:detail", bulletin_id=bulletin.pk)
    urls = links.bulletin_urls(request, bulletin)
    return render(
        request,
        "bulletin/detail.html",
        {**_context(bulletin), "form": form, "urls": urls, "share_text": _share_text(bulletin, urls["public_url"])},
    )


def _share_text(bulletin, url: str | None) -> str:
    if not url:
        return ""
    with translation.override(BULLETIN_LANGUAGE):
        head = _("【%(nb)s 抗疫日报 %(day)s】") % {"nb": bulletin.neighbourhood.name, "day": bulletin.date.isoformat()}
        lines = [head] + [f"{s['title']}:{s['text']}" for s in bulletin.sections] + [_("全文:%(url)s") % {"url": url}]
    return "\n".join(lines)


@login_required
@require_POST
def refresh(request, bulletin_id: int):
    bulletin = selectors.bulletin_get(user=request.user, bulletin_id=bulletin_id)
    services.bulletin_compose(actor=request.user, neighbourhood=bulletin.neighbourhood, date=bulletin.date)
    messages.success(request, _("已按最新数据重新汇总"))
    return redirect("bulletin:detail", bulletin_id=bulletin.pk)


# --- Public pages (no login: the neighbourhood's unguessable key) ----------------------------------


def public_archive(request, key: str):
    channel = selectors.channel_get(key)
    page = paginate(request, selectors.public_bulletins(channel))
    return render(request, "bulletin/public_archive.html", {"channel": channel, "page": page})


def _public(key: str, day: str):
    channel = selectors.channel_get(key)
    date = _day(day)
    if date is None:
        raise Http404
    return channel, selectors.public_bulletin(channel, date)


def public_day(request, key: str, day: str):
    channel, bulletin = _public(key, day)
    ctx = {**_context(bulletin), "channel": channel, "urls": links.bulletin_urls(request, bulletin, key)}
    return render(request, "bulletin/public_day.html", ctx)


def public_print(request, key: str, day: str):
    channel, bulletin = _public(key, day)
    ctx = {**_context(bulletin), "channel": channel, "urls": links.bulletin_urls(request, bulletin, key)}
    ctx["qr"] = mark_safe(qr_svg(ctx["urls"]["public_url"], scale=3))  # noqa: S308 - segno's own SVG
    return render(request, "bulletin/public_print.html", ctx)


def public_png(request, key: str, day: str):
    channel, bulletin = _public(key, day)
    with translation.override(BULLETIN_LANGUAGE):
        data = bulletin_png(
            title=_("%(nb)s 抗疫日报") % {"nb": channel.neighbourhood.name},
            subtitle=bulletin.date.strftime("%Y-%m-%d") + " · " + _("截至发布时的数据"),
            note=bulletin.note,
            sections=bulletin.sections,
            notices=bulletin.notices,
            footer=_("家园 · 只有楼栋和数字,不含任何居民的姓名、门牌和电话"),
        )
    response = HttpResponse(data, content_type="image/png")
    response["Cache-Control"] = "public, max-age=300"  # frozen: the same bytes every time
    return response


def public_notice(request, key: str, notice_id: int):
    channel = selectors.channel_get(key)
    notice = channel.neighbourhood.notices.filter(pk=notice_id).first()
    if notice is None:
        raise Http404
    return render(request, "bulletin/public_notice.html", {"channel": channel, "notice": notice})


# --- Notices -------------------------------------------------------------------------------------


@login_required
def notices(request):
    _require(request.user, Action.MANAGE_NOTICES)
    nb = _neighbourhoods(request.user, Action.MANAGE_NOTICES).first()
    compounds = restrict(Compound.objects.filter(neighbourhood=nb), request.user, Action.MANAGE_NOTICES)
    buildings = restrict(
        Building.objects.filter(neighbourhood=nb).select_related("compound"), request.user, Action.MANAGE_NOTICES
    )
    form = forms.NoticeForm(request.POST or None, compounds=compounds, buildings=buildings)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            notice = services.notice_create(
                actor=request.user,
                neighbourhood=nb,
                kind=d["kind"],
                title=d["title"],
                body=d["body"],
                articles=form.article_list(),
                audience=d["audience"],
                compounds=d["compounds"],
                buildings=d["buildings"],
                requires_ack=d["requires_ack"],
            )
            services.channel_for(nb)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("已发布,居民打开住户链接即可看到"))
            return redirect("bulletin:notice", notice_id=notice.pk)
    page = paginate(request, selectors.notice_list(user=request.user))
    return render(request, "bulletin/notices.html", {"form": form, "page": page})


def _notice_for(user, notice_id: int):
    for action in (Action.MANAGE_NOTICES, Action.VIEW_ROSTER):
        if can(user, action):
            try:
                return selectors.notice_get(user=user, notice_id=notice_id, action=action)
            except Http404:
                continue
    raise Http404


@login_required
def notice(request, notice_id: int):
    n = _notice_for(request.user, notice_id)
    audience = selectors.notice_audience_households(n)
    total = audience.count()
    read = n.reads.filter(household__in=audience).count()
    return render(
        request,
        "bulletin/notice.html",
        {
            "notice": n,
            "total": total,
            "read": read,
            "unread_visible": can(request.user, Action.VIEW_ROSTER),
            "public_url": links.notice_public_url(request, n),
        },
    )


@login_required
def notice_unread(request, notice_id: int):
    """The households that have not opened the notice, by building: for knocking on doors."""
    n = selectors.notice_get(user=request.user, notice_id=notice_id, action=Action.VIEW_ROSTER)
    households = list(selectors.notice_unread_households(user=request.user, notice=n)[:2000])
    groups: dict[int, dict] = {}
    for h in households:
        groups.setdefault(h.building_id, {"building": h.building, "households": []})["households"].append(h)
    return render(
        request, "bulletin/notice_unread.html", {"notice": n, "groups": groups.values(), "count": len(households)}
    )


@login_required
def acks(request):
    """Notices of the last two weeks that ask for acknowledgement, each with how many households
    of the user's buildings have not opened it: the building leader's way to the unread lists."""
    _require(request.user, Action.VIEW_ROSTER)
    rows = [
        {"notice": n, "unread": selectors.notice_unread_households(user=request.user, notice=n).count()}
        for n in selectors.recent_ack_notices(user=request.user)[:20]
    ]
    return render(request, "bulletin/acks.html", {"rows": rows})


@login_required
def notice_poster(request, notice_id: int):
    """A4 poster for the notice board: the text and a QR code to the notice's public page."""
    n = _notice_for(request.user, notice_id)
    url = links.notice_public_url(request, n) or links.absolute(request, "/")
    return render(
        request,
        "bulletin/notice_poster.html",
        {
            "notice": n,
            "qr": mark_safe(qr_svg(url, scale=6)),  # noqa: S308 - segno's own SVG
            "url": url,
            "is_convention": n.kind == NoticeKind.CONVENTION,
        },
    )


# --- Dashboards ----------------------------------------------------------------------------------


def _trend_neighbourhood(request):
    nbs = _neighbourhoods(request.user, Action.VIEW_COUNTS)
    chosen = (
        nbs.filter(pk=request.GET.get("neighbourhood")).first()
        if request.GET.get("neighbourhood", "").isdigit()
        else None
    )
    nb = chosen or nbs.first()
    if nb is None:
        raise Http404
    return nbs, nb


@login_required
@replica_ok
def trends(request):
    """30-day trends of one neighbourhood: one SVG chart per registered series."""
    nbs, nb = _trend_neighbourhood(request)
    data = dashboards.trends(nb)
    labels = [d.strftime("%m-%d") for d in data["days"]]
    charts_ = [
        {"label": s["label"], "svg": charts.line_chart(s["values"], labels, title=s["label"])} for s in data["series"]
    ]
    return render(request, "bulletin/trends.html", {"neighbourhoods": nbs, "nb": nb, "charts": charts_})


@login_required
@replica_ok
def trends_xlsx(request):
    _nbs, nb = _trend_neighbourhood(request)
    return exports.trends_xlsx(nb, dashboards.trends(nb))


def _rollup(request):
    _require(request.user, Action.VIEW_COUNTS)
    day = _day(request.GET.get("date")) or timezone.localdate()
    sort = request.GET.get("sort", "")
    descending = request.GET.get("dir", "desc") == "desc"
    return day, sort, descending, dashboards.rollup(user=request.user, day=day, sort=sort, descending=descending)


@login_required
@replica_ok
def rollup(request):
    """Every neighbourhood of the user's streets side by side (counts only), grouped by street."""
    day, sort, descending, rows = _rollup(request)
    columns = extensions.rollup_columns()
    streets = [
        {
            **group,
            "cells": [(r.name, [r.values[c.key] for c in columns]) for r in group["rows"]],
            "totals": [group["total"].get(c.key, 0) for c in columns],
        }
        for group in dashboards.rollup_by_street(rows)
    ]
    return render(
        request,
        "bulletin/rollup.html",
        {"day": day, "sort": sort, "descending": descending, "columns": columns, "streets": streets},
    )


@login_required
@replica_ok
def rollup_xlsx(request):
    day, _sort, _desc, rows = _rollup(request)
    return exports.rollup_xlsx(day, rows)
