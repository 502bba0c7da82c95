from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from jiayuan.core import help as guide
from jiayuan.core.extensions import audit_kinds, audit_label, home_panels, render_panels, today_items
from jiayuan.core.forms import AuditFilterForm
from jiayuan.core.pagination import paginate
from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can
from jiayuan.core.selectors import audit_actor_choices, audit_event_list
from jiayuan.people.selectors import resident_counts, resident_counts_by_neighbourhood
from jiayuan.places.selectors import neighbourhood_list


@login_required
def home(request):
    """Today's work for the user's roles first ("今天要做的事"), then counts for everyone with a
    scope; per-neighbourhood rows for street officers."""
    counts = resident_counts(user=request.user)
    neighbourhoods = neighbourhood_list(user=request.user)
    rows = []
    if neighbourhoods.count() > 1 or not can(request.user, Action.VIEW_ROSTER):
        by_nb = resident_counts_by_neighbourhood(user=request.user)
        empty = {"residents": 0, "households": 0, "presence": [(label, 0) for label, _n in counts["presence"]]}
        rows = [{"neighbourhood": nb, "counts": by_nb.get(nb.pk, empty)} for nb in neighbourhoods[:500]]
    return render(
        request,
        "core/home.html",
        {
            "counts": counts,
            "rows": rows,
            "has_scope": can(request.user, Action.VIEW_COUNTS),
            "today_list": today_items(request),
            "panels": render_panels(home_panels(), request),
        },
    )


def _who(event) -> str:
    """Who did it, as a committee head says it: a member by display name; a resident through the
    household link; the system (scheduled jobs, ``system``); a command run on the server."""
    if event.actor_id:
        return str(event.actor)
    label = event.actor_label
    if label in ("h", "household", "household-link"):
        return _("住户(住户链接)")
    if label == "demo":
        return _("演示数据")
    if label.startswith("cli:"):
        return _("命令行 (%(user)s)") % {"user": label[4:]}
    if not label or label.startswith(("system", "celery:")) or label in ("purge", "recompute_zones", "rotate-keys"):
        return _("系统")
    return label


@login_required
def audit_log(request):
    """操作记录: one sentence per event (when, who by display name, what in Chinese, to what),
    filtered by person, kind and days."""
    if not can(request.user, Action.VIEW_AUDIT):
        raise Http404
    kinds = audit_kinds()
    form = AuditFilterForm(request.GET or None, actors=audit_actor_choices(user=request.user), kinds=kinds)
    form.is_valid()  # a bad field is shown beside it; the valid ones still filter
    filters = getattr(form, "cleaned_data", {})
    events = audit_event_list(
        user=request.user,
        action_prefix=request.GET.get("action", "").strip(),
        actor_id=filters.get("actor"),
        kind=filters.get("kind") or "",
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
    )
    page = paginate(request, events)
    kind_of = {action: k.label for k in kinds for action in k.actions}
    rows = [
        {
            "event": e,
            "who": _who(e),
            "label": audit_label(e.action),
            "kind": kind_of.get(e.action, ""),
        }
        for e in page.object_list
    ]
    return render(request, "core/audit.html", {"page": page, "rows": rows, "form": form})


def help_section(request):
    """ "帮助": the guide's section ``?s=<key>`` (``core.help.SECTIONS``) in the page's language."""
    return redirect(guide.section_url(request.GET.get("s", ""), guide.guide_lang(request.LANGUAGE_CODE)))


def help_page(request, lang: str, page: str):
    """A page of the user guide (``docs/user-guide/<lang>/<page>.md``) as HTML; open to everyone,
    like the guide itself."""
    rendered = guide.render_page(lang, page)
    if rendered is None:
        raise Http404
    title, html, _ids = rendered
    # Our own Markdown, with raw HTML disabled in the renderer.
    context = {"title": title, "html": mark_safe(html), "lang": lang}  # noqa: S308
    return render(request, "core/help.html", context)
