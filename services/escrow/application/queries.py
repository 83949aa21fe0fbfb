"""What the escrow answers from its views and streams: cards (by id, by owner, by merchant,
by the code shown at the counter), a card's money history, a refund's quote, a merchant's
figures (in total and by day) and payouts. Redemption requests are `redemption_queries`'."""

from __future__ import annotations

from datetime import datetime

from eventstore import EventStore
from policy import Policy
from services.domain_errors import InvalidInput, NotFound
from services.escrow.application import daily_stats
from services.escrow.application.projections import (
    BY_CONSUMER,
    BY_MERCHANT,
    CARD_CODES,
    CARDS,
    MERCHANT_STATS,
    PAYOUTS,
    PLATFORM_KEY,
    PLATFORM_TOTALS,
)
from services.escrow.application.store import CODEC, card_stream, load_card
from services.escrow.domain import card_codes, refunds, stats
from services.escrow.domain.events import (
    CardRefunded,
    DepositConfirmed,
    DepositReturned,
    FundsReleased,
    RedemptionConfirmed,
)
from services.paging import keyset_page


def _with_code(view: dict) -> dict:
    """Views written before codes were issued lack one: such a card's code is derived from
    its id (it has no `CardCodeIssued`), exactly as a replay would show it."""
    if "card_code" not in view:
        view["card_code"] = card_codes.derived_code(view["card_id"])
    return view


def get_card(card_id: str, *, store: EventStore) -> dict:
    view = store.get_view(CARDS, card_id)
    if view is None:
        raise NotFound(f"no card {card_id}")
    return _with_code(view)


def consumer_cards(
    consumer_id: str, *, store: EventStore, after: str = "", limit: int = 100
) -> dict:
    """The consumer's cards by card id, a page at a time."""
    found = keyset_page(store.list_views, BY_CONSUMER, f"{consumer_id}/", after, limit)
    return {"items": [_with_code(v) for _, v in found["rows"]], "next_after": found["next_after"]}


def merchant_cards(
    merchant_id: str, *, store: EventStore, after: str = "", limit: int = 100
) -> dict:
    """The merchant's cards by card id, a page at a time (never paid ones left out: a
    merchant sees what was bought of it)."""
    found = keyset_page(store.list_views, BY_MERCHANT, f"{merchant_id}/", after, limit)
    return {"items": [_with_code(v) for _, v in found["rows"]], "next_after": found["next_after"]}


def card_at_counter(merchant_id: str, typed_code: str, *, store: EventStore) -> dict:
    """The merchant's own card showing `typed_code`. A code that is not twelve digits is
    invalid input; a mistyped one (its check digit fails), an unknown one and another
    merchant's card are all the same NotFound, so an answer tells nothing of other cards."""
    code = card_codes.normalise(typed_code)
    if code is None:
        raise InvalidInput("a card code is 12 digits", "invalid_card_code")
    found = (
        store.get_view(CARD_CODES, f"{merchant_id}/{code}")
        if card_codes.check_digit_holds(code)
        else None
    )
    if found is None:
        raise NotFound("no card of yours has that code", "card_not_found")
    return get_card(found["card_id"], store=store)


MONEY_EVENTS = {
    DepositConfirmed: ("deposit", "amount"),
    RedemptionConfirmed: ("redemption_confirmed", "released_amount"),
    FundsReleased: ("release", "released_amount"),
    CardRefunded: ("refund", "refund_amount"),
    DepositReturned: ("deposit_returned", "amount"),
}
"""The card's events that move money, as the history names them, and their amount field.
Requests, rejections and expiries of spends move none and are left out (the redemption
lists show them); a confirmed check-in of a period card is in, with the 0 it released."""
_EXTRA = ("redemption_id", "rule", "reason", "upfront_amount")


def card_history(card_id: str, *, store: EventStore) -> dict:
    """The card's money events, oldest first, each under the id of the stored event, which
    is the id the ledger notarises it under (its receipt's id)."""
    records = store.read_stream(card_stream(card_id))
    if not records:
        raise NotFound(f"no card {card_id}")
    items = []
    for record in records:
        event = CODEC.decode(record)
        named = MONEY_EVENTS.get(type(event))
        if named is None:
            continue
        kind, amount = named
        item = {
            "event_id": record.id,
            "type": kind,
            "amount": getattr(event, amount),
            "at": daily_stats.event_time(event),
        }
        item.update({n: getattr(event, n) for n in _EXTRA if getattr(event, n, None)})
        items.append(item)
    return {"card_id": card_id, "items": items}


def refund_quote(
    card_id: str,
    consumer_id: str | None,
    rule: str | None,
    *,
    store: EventStore,
    policy: Policy,
    now: datetime,
) -> dict:
    """What a refund by `rule` would return now, decided by the refund's own decision and
    not committed: the same amount, inputs and refusals. No rule quotes the owner's plain
    request (cooling-off while it applies, else on request)."""
    if rule is not None and rule not in refunds.CONSUMER_RULES:
        raise InvalidInput(
            f"rule must be one of {', '.join(refunds.CONSUMER_RULES)}", "invalid_rule"
        )
    card = load_card(store, card_id)
    if consumer_id is not None and card.purchase.consumer_id != consumer_id:
        raise NotFound(f"no card {card_id}")
    decided = refunds.refund_as_asked(
        card,
        rule,
        now,
        cooling_off_days=policy.refunds.cooling_off_days,
        stored_value_formula=policy.refunds.stored_value_formula,
    )
    refund = decided[-1]
    return {
        "card_id": card_id,
        "refund_amount": refund.refund_amount,
        "rule": refund.rule,
        "inputs": refund.inputs,
        "quoted_at": refund.refunded_at,
    }


def merchant_stats(merchant_id: str, *, store: EventStore) -> dict:
    """The merchant's figures; all zero for a merchant that has sold nothing yet."""
    return store.get_view(MERCHANT_STATS, merchant_id) or stats.empty(merchant_id)


def platform_totals(*, store: EventStore) -> dict:
    """Every merchant's figures summed, from the one row the projection keeps."""
    return store.get_view(PLATFORM_TOTALS, PLATFORM_KEY) or stats.empty("")


def merchant_daily_stats(merchant_id: str, start: str, end: str, *, store: EventStore) -> dict:
    """One row a day from `start` to `end` inclusive (YYYY-MM-DD, at most 366 days)."""
    first, last = daily_stats.parse_range(start, end)
    totals = merchant_stats(merchant_id, store=store)
    rows = daily_stats.days(merchant_id, first, last, totals, store.list_views)
    return {"merchant_id": merchant_id, "currency": "CNY", "items": rows}


def settlements(merchant_id: str, *, store: EventStore, after: str = "", limit: int = 100) -> dict:
    """The merchant's payouts, oldest first, a page at a time."""
    found = keyset_page(store.list_views, PAYOUTS, f"{merchant_id}/", after, limit)
    return {"items": [v for _, v in found["rows"]], "next_after": found["next_after"]}
