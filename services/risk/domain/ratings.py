"""Ratings (好差评) of confirmed spends: once per spend, by the consumer who confirmed it.

Stdlib only. A spend is known here once the escrow's `RedemptionConfirmed` has been learnt;
until then a rating is refused as not yet confirmed (the caller retries shortly).
"""

from __future__ import annotations

from services.domain_errors import Conflict, InvalidInput, NotFound
from services.risk.domain.events import SpendRated

MIN_STARS, MAX_STARS = 1, 5
MAX_TEXT = 200
"""Characters of a rating's text."""


def check_rating(stars: object, text: str) -> None:
    if type(stars) is not int or not MIN_STARS <= stars <= MAX_STARS:
        raise InvalidInput(
            f"stars is a whole number from {MIN_STARS} to {MAX_STARS}", "invalid_stars"
        )
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"a rating's text has at most {MAX_TEXT} characters", "text_too_long")


def rate(
    spend: dict | None,
    consumer_id: str,
    *,
    rating_id: str,
    redemption_id: str,
    stars: int,
    text_encrypted: str,
    now: str,
) -> SpendRated:
    """The rating of `spend` (the confirmed spend as learnt, or None when it is not yet)."""
    if spend is None:
        raise Conflict(
            "this spend is not known as confirmed yet; retry shortly",
            "spend_not_confirmed",
            {"redemption_id": redemption_id},
        )
    if spend["consumer_id"] != consumer_id:
        raise NotFound(f"no confirmed spend {redemption_id}")
    return SpendRated(
        rating_id,
        redemption_id,
        spend["merchant_id"],
        consumer_id,
        stars,
        text_encrypted,
        now,
    )


def same_rating(existing: dict, consumer_id: str, stars: int, text: str | None) -> bool:
    """Whether a second rating of a spend repeats the first (`existing` with its text, None
    once erased), which then stands as the answer; anything else is `already_rated`."""
    return (
        existing["consumer_id"] == consumer_id
        and existing["stars"] == stars
        and existing["text"] == text
    )


def already_rated(redemption_id: str, rating_id: str) -> Conflict:
    return Conflict(
        "this spend has been rated already",
        "already_rated",
        {"redemption_id": redemption_id, "rating_id": rating_id},
    )


def average_tenths(stars_sum: int, count: int) -> int | None:
    """The mean in tenths of a star, rounded half up (43 is 4.3); None without ratings."""
    if count == 0:
        return None
    return (20 * stars_sum + count) // (2 * count)
