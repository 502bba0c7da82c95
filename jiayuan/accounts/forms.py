from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from jiayuan.accounts import throttle
from jiayuan.accounts.models import ScopeLevel
from jiayuan.core.permissions import Role


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("用户名或密码错误。"),
        "inactive": _("该账号已停用。"),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("用户名")
        self.fields["password"].label = _("密码")
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autocapitalize": "none"})

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            # Locked (this attempt refused unchecked, or this wrong password reached the limit):
            # say so, rather than "wrong password" again.
            counts = throttle.status(self.cleaned_data.get("username") or "", throttle.client_address(self.request))
            if getattr(self.request, "jiayuan_login_throttled", False) or counts.locked:
                raise forms.ValidationError(
                    _("登录失败次数过多, 已暂时锁定。请 %(minutes)s 分钟后再试; 忘记密码请联系居委会书记/主任重置。"),
                    code="throttled",
                    params={"minutes": counts.minutes},
                ) from None
            raise


def _role_choices():
    from jiayuan.accounts.services import GRANTABLE_ROLES

    return [(r, Role(r).label) for r in GRANTABLE_ROLES]


class GrantForm(forms.Form):
    """A role over a place; ``scopes`` are the grouped choices of ``selectors.team_scopes``."""

    role = forms.ChoiceField(label=_("角色"), choices=_role_choices)
    scope = forms.ChoiceField(label=_("负责范围"))

    def __init__(self, *args, scopes, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(ScopeLevel.choices)
        self.fields["scope"].choices = [(labels[level], choices) for level, choices in scopes]


class TeamMemberForm(GrantForm):
    display_name = forms.CharField(label=_("姓名"), max_length=64)
    username = forms.CharField(
        label=_("用户名(登录用)"),
        max_length=30,
        help_text=_("英文字母、数字或 _ . -, 如 zhang.san 或手机号"),
        widget=forms.TextInput(attrs={"autocapitalize": "none", "autocomplete": "off", "spellcheck": "false"}),
    )
    field_order = ["display_name", "username", "role", "scope"]


class OTPCodeForm(forms.Form):
    """A 6-digit code from the phone, or one of the 8-character backup codes."""

    code = forms.CharField(
        label=_("验证码"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autocapitalize": "none", "autofocus": True}
        ),
        error_messages={"required": _("请填写验证码")},
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split()).replace("-", "").lower()
        if not code.isalnum():
            raise forms.ValidationError(_("验证码只含数字或字母"))
        return code
