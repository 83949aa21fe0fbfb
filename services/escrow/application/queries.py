"""What the escrow answers from its views: cards, a merchant's figures and payouts."""

from __future__ import annotations

from eventstore import EventStore
from services.domain_errors import NotFound
from services.escrow.application.projections import BY_CONSUMER, CARDS, MERCHANT_STATS, PAYOUTS
from services.escrow.domain import stats
from services.paging import keyset_page


def get_card(card_id: str, *, store: EventStore) -> dict:
    view = store.get_view(CARDS, card_id)
    if view is None:
        raise NotFound(f"no card {card_id}")
    return view


def consumer_cards(
    consumer_id: str, *, store: EventStore, after: str = "", limit: int = 100
) -> dict:
    """The consumer's cards by card id, a page at a time."""
    found = keyset_page(store.list_views, BY_CONSUMER, f"{consumer_id}/", after, limit)
    return {"items": [view for _, view in found["rows"]], "next_after": found["next_after"]}


def merchant_stats(merchant_id: str, *, store: EventStore) -> dict:
    """The merchant's figures; all zero for a merchant that has sold nothing yet."""
    return store.get_view(MERCHANT_STATS, merchant_id) or stats.empty(merchant_id)


def settlements(merchant_id: str, *, store: EventStore, after: str = "", limit: int = 100) -> dict:
    """The merchant's payouts, oldest first, a page at a time."""
    found = keyset_page(store.list_views, PAYOUTS, f"{merchant_id}/", after, limit)
    return {"items": [v for _, v in found["rows"]], "next_after": found["next_after"]}
