"""Cross-app tests reuse the apps' own fixtures (an approved group-buy leader, an open group buy)."""

from jiayuan.supplies.tests.conftest import (  # noqa: F401 - fixtures, used by name
    committee_mode,
    leader,
    make_group_buy,
    make_leader,
    open_buy,
)
