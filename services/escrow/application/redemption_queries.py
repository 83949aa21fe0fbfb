"""Redemption requests as their card's owner and merchant follow them: one by id (cheap, for
a counter polling a request it made), and each side's list filtered by status.

A pending request whose time has passed is shown as expired at once, before the scheduled
work records its expiry, since it can no longer be confirmed (`redemptions.lapsed`).
"""

from __future__ import annotations

from datetime import datetime

from eventstore import EventStore
from services.domain_errors import InvalidInput, NotFound
from services.escrow.application.projections import (
    REDEMPTIONS,
    REDEMPTIONS_BY_CONSUMER,
    REDEMPTIONS_BY_MERCHANT,
    redemption_view,
)
from services.escrow.application.store import load_card
from services.escrow.domain.redemptions import lapsed
from services.paging import keyset_page

STATUSES = ("pending", "confirmed", "rejected", "expired", "voided", "all")
"""`voided`: cancelled by a refund of the card or its merchant's default."""


def as_of(view: dict, now: datetime) -> dict:
    """The request as it stands at `now`: a lapsed pending one reads as expired."""
    if view["status"] == "pending" and lapsed(datetime.fromisoformat(view["expires_at"]), now):
        return {**view, "status": "expired"}
    return view


def _full(store: EventStore, redemption_id: str, found: dict) -> dict:
    """A row written before requests had a full view names only its card: read the card."""
    if "status" in found:
        return found
    card = load_card(store, found["card_id"])
    return redemption_view(card, card.holds[redemption_id])


def get_redemption(redemption_id: str, *, store: EventStore, now: datetime) -> dict:
    found = store.get_view(REDEMPTIONS, redemption_id)
    if found is None:
        raise NotFound(f"no redemption {redemption_id}")
    return as_of(_full(store, redemption_id, found), now)


SIDES = {"consumer": REDEMPTIONS_BY_CONSUMER, "merchant": REDEMPTIONS_BY_MERCHANT}
"""Whose requests a list holds: the card owner's or the merchant's (each has its own index)."""


def redemptions_of(
    side: str,
    owner: str,
    status: str,
    *,
    store: EventStore,
    now: datetime,
    after: str = "",
    limit: int = 100,
) -> dict:
    """The requests of one consumer or one merchant (`side`) with `status` (or all), oldest
    first."""
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", "invalid_status")
    found = keyset_page(
        store.list_views,
        SIDES[side],
        f"{owner}/",
        after,
        limit,
        keep=lambda key, doc: status == "all" or as_of(doc, now)["status"] == status,
    )
    return {"items": [as_of(v, now) for _, v in found["rows"]], "next_after": found["next_after"]}
