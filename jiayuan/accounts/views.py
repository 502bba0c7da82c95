"""Team pages (the committee adds its staff and volunteers) and changing one's own password."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as django_otp_login

from jiayuan.accounts import selectors, services
from jiayuan.accounts.forms import GrantForm, OTPCodeForm, TeamMemberForm
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
    from django_otp import user_has_device

    context = {"member": member, "form": form, "member_otp": user_has_device(member, confirmed=True)}
    return render(request, "accounts/team_member.html", context)


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


def _member_action(request, member_id: int, service, done: str):
    """POST on a member of the actor's team (404 outside it): ``service(actor=, user=)``, its refusal
    or ``done`` as the message, back to the member's page."""
    _require_team(request)
    member = selectors.team_member_get(user=request.user, member_id=member_id)
    try:
        service(actor=request.user, user=member)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done % {"name": member.display_name or member.username})
    return redirect("team:member", member_id=member.pk)


@login_required
@require_POST
def team_deactivate(request, member_id: int):
    return _member_action(request, member_id, services.team_member_deactivate, _("已停用账号: %(name)s"))


@login_required
@require_POST
def team_otp_reset(request, member_id: int):
    return _member_action(
        request, member_id, services.team_otp_reset, _("已重置 %(name)s 的两步验证: 对方下次登录时重新设置")
    )


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


# --- One's own account: password and two-factor sign-in ------------------------------------------


def _next_url(request) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse("core:home")


def _backup_codes_page(request, codes: list[str], *, new_device: bool):
    """Rendered, not redirected: the codes are shown this once."""
    return render(
        request,
        "accounts/otp_backup_codes.html",
        {"codes": codes, "new_device": new_device, "next": _next_url(request)},
    )


@login_required
def account(request):
    from django_otp import user_has_device

    from jiayuan.accounts.otp import second_factor_required

    context = {
        "roles": request.user.assignments.filter(active=True).select_related(
            "street", "neighbourhood", "compound", "building__compound"
        ),
        "enrolled": user_has_device(request.user, confirmed=True),
        "required": second_factor_required(request.user),
        "backup_left": _backup_codes_left(request.user),
    }
    return render(request, "accounts/account.html", context)


def _backup_codes_left(user) -> int:
    from django_otp.plugins.otp_static.models import StaticToken

    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def otp_setup(request):
    """Enrol an authenticator app: scan the QR code (or type the key), confirm with a code."""
    import base64

    from jiayuan.core.qr import qr_svg

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    from jiayuan.accounts.otp import needs_verification

    # Until enrolled, the menu is hidden: its pages would only lead back here.
    request.jiayuan_2fa_pending = needs_verification(request.user) is not None
    device = services.otp_enrol_start(user=request.user)
    if device is None:
        messages.info(request, _("您已开启两步验证。"))
        return redirect("accounts:account")
    form = OTPCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.otp_enrol_confirm(user=request.user, device=device, code=form.cleaned_data["code"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            device.refresh_from_db()
            request.session.cycle_key()
            django_otp_login(request, device)
            return _backup_codes_page(request, codes, new_device=True)
    key = base64.b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "qr": qr_svg(device.config_url, scale=4),
        "key": " ".join(key[i : i + 4] for i in range(0, len(key), 4)),
        "next": _next_url(request),
    }
    return render(request, "accounts/otp_setup.html", context)


def otp_verify(request):
    """The second step of signing in: the code from the phone, or a backup code."""
    from django_otp import user_has_device

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.user.is_verified() or not user_has_device(request.user, confirmed=True):
        return redirect(_next_url(request))
    request.jiayuan_2fa_pending = True  # no menu: its pages would only lead back here
    form = OTPCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = services.otp_verify(user=request.user, code=form.cleaned_data["code"])
        if device is None:
            form.add_error("code", _("验证码不对或已过期; 连续输错后需稍等几秒再试。"))
        else:
            request.session.cycle_key()
            django_otp_login(request, device)
            if device.__class__.__name__ == "StaticDevice":
                messages.warning(
                    request,
                    _("您用了一个备用码, 还剩 %(n)s 个。用完前请在“我的账号”重新生成。")
                    % {"n": _backup_codes_left(request.user)},
                )
            return redirect(_next_url(request))
    return render(request, "accounts/otp_verify.html", {"form": form, "next": _next_url(request)})


@login_required
@require_POST
def otp_backup_codes(request):
    from django_otp import user_has_device

    if not user_has_device(request.user, confirmed=True):
        return redirect("accounts:account")
    return _backup_codes_page(request, services.otp_backup_codes_regenerate(user=request.user), new_device=False)


@login_required
@require_POST
def otp_remove(request):
    services.otp_remove(user=request.user)
    messages.success(request, _("已关闭两步验证。"))
    return redirect("accounts:account")
