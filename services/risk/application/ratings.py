"""Ratings (好差评) of confirmed spends: the spends the risk service learns from the escrow's
events, rating one, and a merchant's ratings. Ratings do not move the health code.

A rating lives in a stream of its own per spend (`rating-<redemption id>`), appended at
version 0, so a spend is rated once however many requests race. Its text is personal data:
encrypted with the consumer's key (erasing the consumer erases it), and shown without the
consumer's identity.

Views, in the risk store:
    confirmed_spends     redemption id -> {consumer_id, merchant_id, card_id, confirmed_at}
    ratings_by_merchant  "<merchant id>/<newest first>|<rating id>" -> {redemption_id}
    rating_totals        merchant id -> {count, stars_sum}
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from eventstore import ConcurrencyError, EventStore, UnitOfWork
from eventstore.codec import event_fields
from privacy import Forgotten, Vault
from services.domain_errors import NotFound
from services.paging import keyset_page, newest_first
from services.risk.application.store import CODEC, RATING_TEXT, seal
from services.risk.domain import ratings as domain
from services.risk.domain.events import SpendRated

SPENDS, BY_MERCHANT, TOTALS = "confirmed_spends", "ratings_by_merchant", "rating_totals"
CONFIRMED = "escrow.RedemptionConfirmed.v1"


def rating_stream(redemption_id: str) -> str:
    return f"rating-{redemption_id}"


def note_spend(uow: UnitOfWork, event_type: str, data: dict, at: str) -> None:
    """A confirmed spend, learnt from the escrow: from now on its consumer may rate it."""
    if event_type == CONFIRMED and data.get("consumer_id") and data.get("redemption_id"):
        uow.put_view(
            SPENDS,
            data["redemption_id"],
            {
                "consumer_id": data["consumer_id"],
                "merchant_id": data["merchant_id"],
                "card_id": data.get("card_id"),
                "confirmed_at": at,
            },
        )


def rate_spend(
    redemption_id: str,
    consumer_id: str,
    stars: int,
    text: str,
    *,
    store: EventStore,
    vault: Vault,
    now: datetime,
    metadata: dict | None = None,
    new_id: Callable[[], str] = lambda: f"rt-{uuid.uuid4().hex[:20]}",
) -> dict:
    """Rates the consumer's confirmed spend. The same rating again answers the first; a
    different one is 409 `already_rated`; a spend not learnt yet is 409
    `spend_not_confirmed`; someone else's is unknown (404)."""
    domain.check_rating(stars, text)
    found = _rating_of(store, vault, redemption_id)
    if found is not None:
        return _repeated(found, consumer_id, stars, text)
    event = domain.rate(
        store.get_view(SPENDS, redemption_id),
        consumer_id,
        rating_id=new_id(),
        redemption_id=redemption_id,
        stars=stars,
        text_encrypted="",
        now=now.isoformat(),
    )  # decided before any key is used
    if text:
        event = replace(event, text_encrypted=seal(vault, consumer_id, RATING_TEXT, text))
    try:
        with store.unit_of_work() as uow:
            uow.append(rating_stream(redemption_id), [CODEC.encode(event, metadata or {})], 0)
            project_rating(uow, event_fields(event))
    except ConcurrencyError:
        # Another request rated the spend meanwhile: answered as a repeat of that one.
        raced = _rating_of(store, vault, redemption_id)
        if raced is None:
            raise
        return _repeated(raced, consumer_id, stars, text)
    return _answer(event.rating_id, redemption_id, stars)


def _answer(rating_id: str, redemption_id: str, stars: int) -> dict:
    return {"rating_id": rating_id, "redemption_id": redemption_id, "stars": stars}


def _repeated(found: dict, consumer_id: str, stars: int, text: str) -> dict:
    if found["consumer_id"] != consumer_id:
        raise NotFound(f"no confirmed spend {found['redemption_id']}")
    if not domain.same_rating(found, consumer_id, stars, text):
        raise domain.already_rated(found["redemption_id"], found["rating_id"])
    return _answer(found["rating_id"], found["redemption_id"], found["stars"])


def project_rating(uow: UnitOfWork, rating: dict) -> None:
    """A rating's views, from its event's fields (the live command and the replay)."""
    uow.put_view(
        BY_MERCHANT,
        f"{rating['merchant_id']}/{newest_first(rating['rated_at'])}|{rating['rating_id']}",
        {"redemption_id": rating["redemption_id"]},
    )
    totals = uow.get_view(TOTALS, rating["merchant_id"]) or {"count": 0, "stars_sum": 0}
    uow.put_view(
        TOTALS,
        rating["merchant_id"],
        {"count": totals["count"] + 1, "stars_sum": totals["stars_sum"] + rating["stars"]},
    )


def _rating_of(store: EventStore, vault: Vault, redemption_id: str) -> dict | None:
    """The spend's rating with its text (None once erased, "" when none was written)."""
    records = store.read_stream(rating_stream(redemption_id))
    if not records:
        return None
    event = CODEC.decode(records[0])
    assert isinstance(event, SpendRated), "a rating stream holds its rating first"
    text: str | None = ""
    if event.text_encrypted:
        try:
            text = vault.decrypt(event.consumer_id, RATING_TEXT, event.text_encrypted)
        except Forgotten:
            text = None
    return {
        "rating_id": event.rating_id,
        "redemption_id": event.redemption_id,
        "merchant_id": event.merchant_id,
        "consumer_id": event.consumer_id,
        "stars": event.stars,
        "text": text,
        "rated_at": event.rated_at,
    }


def summary(totals: dict | None) -> dict:
    count, stars_sum = (totals or {}).get("count", 0), (totals or {}).get("stars_sum", 0)
    return {"average_tenths": domain.average_tenths(stars_sum, count), "count": count}


def summaries(merchant_ids: list[str], *, store: EventStore) -> dict:
    """{merchant id: {average_tenths, count}} for each of `merchant_ids`."""
    return {m: summary(store.get_view(TOTALS, m)) for m in merchant_ids}


def merchant_ratings(
    merchant_id: str, *, store: EventStore, vault: Vault, after: str = "", limit: int = 100
) -> dict:
    """The merchant's average and count, and its ratings newest first, a page at a time,
    without who rated."""
    found = keyset_page(store.list_views, BY_MERCHANT, f"{merchant_id}/", after, limit)
    items = []
    for _, ref in found["rows"]:
        rating = _rating_of(store, vault, ref["redemption_id"])
        if rating is not None:
            items.append({k: rating[k] for k in ("rating_id", "stars", "text", "rated_at")})
    return {
        **summary(store.get_view(TOTALS, merchant_id)),
        "items": items,
        "next_after": found["next_after"],
    }
