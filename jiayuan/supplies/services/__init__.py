"""Writes for supplies, one module per entity (as Zulip's ``actions/``): settings, group-buy
leaders, group buys, orders, handouts, donations and stock, appointments. Every rule and state
transition lives here; each one is audited. Callers import this package:
``from jiayuan.supplies import services``.

``actor`` is a user, or for a household acting through its link a label such as
``household-link:12`` (see ``link_actor``). Errors are ``ValidationError`` with Chinese,
field-level messages; running out of a limited quantity is ``SoldOutError`` (a
``ValidationError``; the API answers it with 409).
"""

from jiayuan.supplies.services._shared import (
    MAX_ID,
    MAX_QUANTITY,
    SoldOutError,
    clean_idempotency_key,
    link_actor,
    require_may_go_out,
)
from jiayuan.supplies.services.appointments import booking_collect, booking_create, campaign_create, window_create
from jiayuan.supplies.services.config import settings_for, settings_update
from jiayuan.supplies.services.group_buys import (
    bidding_close_vote,
    bidding_group,
    building_deliver,
    group_buy_arrive,
    group_buy_cancel,
    group_buy_close,
    group_buy_disinfect,
    group_buy_open,
    group_buy_pick,
    group_buy_propose,
    group_buy_reject,
    group_buy_sort,
    issue_record,
    vote_cast,
    vote_tally,
)
from jiayuan.supplies.services.handouts import handout_mark_received, handout_round_create, handout_unmark_received
from jiayuan.supplies.services.leaders import (
    document_check,
    export_record,
    leader_apply,
    leader_document_add,
    leader_document_open,
    leader_review,
    leaders_suspend_expired,
)
from jiayuan.supplies.services.orders import (
    order_cancel,
    order_place,
    order_place_by_staff,
    order_place_fast,
    order_set_paid,
)
from jiayuan.supplies.services.stock import donation_record, stock_issue, stock_set_threshold

__all__ = [
    "MAX_ID",
    "MAX_QUANTITY",
    "SoldOutError",
    "bidding_close_vote",
    "bidding_group",
    "booking_collect",
    "booking_create",
    "building_deliver",
    "campaign_create",
    "clean_idempotency_key",
    "document_check",
    "donation_record",
    "export_record",
    "group_buy_arrive",
    "group_buy_cancel",
    "group_buy_close",
    "group_buy_disinfect",
    "group_buy_open",
    "group_buy_pick",
    "group_buy_propose",
    "group_buy_reject",
    "group_buy_sort",
    "handout_mark_received",
    "handout_round_create",
    "handout_unmark_received",
    "issue_record",
    "leader_apply",
    "leader_document_add",
    "leader_document_open",
    "leader_review",
    "leaders_suspend_expired",
    "link_actor",
    "order_cancel",
    "order_place",
    "order_place_by_staff",
    "order_place_fast",
    "order_set_paid",
    "require_may_go_out",
    "settings_for",
    "settings_update",
    "stock_issue",
    "stock_set_threshold",
    "vote_cast",
    "vote_tally",
    "window_create",
]
