"""Writes for accounts, one module per entity (as Zulip's ``actions/``): role assignments and API
tokens, household access links, the team (staff and volunteers the committee adds), two-factor
sign-in. Callers import this package: ``from jiayuan.accounts import services``.
"""

from jiayuan.accounts.services.links import (
    LINK_SALT,
    household_link_issue,
    household_link_parse,
    household_link_print,
    household_link_resolve,
    household_link_revoke,
    household_link_token,
    household_link_used,
)
from jiayuan.accounts.services.otp import (
    BACKUP_CODE_COUNT,
    otp_backup_codes_regenerate,
    otp_enrol_confirm,
    otp_enrol_start,
    otp_remove,
    otp_verify,
    team_otp_reset,
)
from jiayuan.accounts.services.team import (
    GRANTABLE_ROLES,
    USERNAME_RE,
    own_password_change,
    team_grant,
    team_member_create,
    team_member_deactivate,
    team_password_reset,
    team_revoke,
)
from jiayuan.accounts.services.tokens import (
    api_token_authenticate,
    api_token_create,
    api_token_hash,
    api_token_statement,
    api_token_user,
    assignment_grant,
)

__all__ = [
    "BACKUP_CODE_COUNT",
    "GRANTABLE_ROLES",
    "LINK_SALT",
    "USERNAME_RE",
    "api_token_authenticate",
    "api_token_create",
    "api_token_hash",
    "api_token_statement",
    "api_token_user",
    "assignment_grant",
    "household_link_issue",
    "household_link_parse",
    "household_link_print",
    "household_link_resolve",
    "household_link_revoke",
    "household_link_token",
    "household_link_used",
    "otp_backup_codes_regenerate",
    "otp_enrol_confirm",
    "otp_enrol_start",
    "otp_remove",
    "otp_verify",
    "own_password_change",
    "team_grant",
    "team_member_create",
    "team_member_deactivate",
    "team_otp_reset",
    "team_password_reset",
    "team_revoke",
]
