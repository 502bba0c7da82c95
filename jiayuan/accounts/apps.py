from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "jiayuan.accounts"
    label = "accounts"
    verbose_name = _("账号与权限")

    def ready(self) -> None:
        from jiayuan.accounts import audit_labels, signals  # noqa: F401 - signals connect on import
        from jiayuan.core import extensions
        from jiayuan.core.permissions import Action

        extensions.nav_item(_("团队"), "team:list", Action.MANAGE_TEAM, order=90)
        audit_labels.register()
