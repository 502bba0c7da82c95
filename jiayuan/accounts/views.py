"""Team pages (the committee adds its staff and volunteers) and changing one's own password."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiayuan.accounts import selectors, services
from jiayuan.accounts.forms import GrantForm, TeamMemberForm
from jiayuan.core.forms import apply_service_errors
from jiayuan.core.pagination import paginate


def _require_team(request) -> None:
    if not selectors.manages_team(request.user):
        raise Http404


def _login_url(request) -> str:
    base = settings.JIAYUAN_PUBLIC_URL or request.build_absolute_uri("/").rstrip("/")
    return base + reverse("accounts:login")


def _show_password(request, member, password: str, *, new: bool):
    """Rendered, not redirected: the password is shown this once and stored nowhere."""
    context = {"member": member, "password": password, "login_url": _login_url(request), "new": new}
    return render(request, "accounts/team_password.html", context)


def _grant_from_form(request, form, apply):
    """Resolve the chosen place through the user's scope and call ``apply(role, scope)``; None
    with the form's errors set when it fails."""
    scope = selectors.team_scope_resolve(user=request.user, value=form.cleaned_data["scope"])
    if scope is None:
        form.add_error("scope", _("授权范围不存在或不在您的管理范围"))
        return None
    try:
        return apply(form.cleaned_data["role"], scope)
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return None


@login_required
def team_list(request):
    _require_team(request)
    q = request.GET.get("q", "")
    page = paginate(request, selectors.team_list(user=request.user, q=q))
    return render(request, "accounts/team_list.html", {"page": page, "q": q})


@login_required
def team_new(request):
    _require_team(request)
    scopes = selectors.team_scopes(user=request.user)
    form = TeamMemberForm(request.POST or None, scopes=scopes)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        created = _grant_from_form(
            request,
            form,
            lambda role, scope: services.team_member_create(
                actor=request.user, username=d["username"], display_name=d["display_name"], role=role, scope=scope
            ),
        )
        if created is not None:
            member, password = created
            return _show_password(request, member, password, new=True)
    return render(request, "accounts/team_new.html", {"form": form})


@login_required
def team_member(request, member_id: int):
    _require_team(request)
    member = selectors.team_member_get(user=request.user, member_id=member_id)
    form = GrantForm(request.POST or None, scopes=selectors.team_scopes(user=request.user))
    if request.method == "POST" and form.is_valid():
        done = _grant_from_form(
            request,
            form,
            lambda role, scope: services.team_grant(actor=request.user, user=member, role=role, scope=scope),
        )
        if done is not None:
            messages.success(request, _("已授权: %(role)s") % {"role": done.get_role_display()})
            return redirect("team:member", member_id=member.pk)
    return render(request, "accounts/team_member.html", {"member": member, "form": form})


@login_required
@require_POST
def team_revoke(request, assignment_id: int):
    _require_team(request)
    assignment = selectors.team_assignment_get(user=request.user, assignment_id=assignment_id)
    try:
        services.team_revoke(actor=request.user, assignment=assignment)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已收回: %(role)s") % {"role": assignment.get_role_display()})
    return redirect("team:member", member_id=assignment.user_id)


@login_required
@require_POST
def team_password_reset(request, member_id: int):
    _require_team(request)
    member = selectors.team_member_get(user=request.user, member_id=member_id)
    try:
        password = services.team_password_reset(actor=request.user, user=member)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("team:member", member_id=member.pk)
    return _show_password(request, member, password, new=False)


@login_required
@require_POST
def team_deactivate(request, member_id: int):
    _require_team(request)
    member = selectors.team_member_get(user=request.user, member_id=member_id)
    try:
        services.team_member_deactivate(actor=request.user, user=member)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已停用账号: %(name)s") % {"name": member.display_name or member.username})
    return redirect("team:member", member_id=member.pk)


@login_required
def password_change(request):
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.own_password_change(user=request.user, new_password=form.cleaned_data["new_password1"])
        update_session_auth_hash(request, user)  # stay signed in here; other sessions end
        messages.success(request, _("密码已修改。"))
        return redirect("core:home")
    return render(
        request, "accounts/password_change.html", {"form": form, "required": request.user.must_change_password}
    )
