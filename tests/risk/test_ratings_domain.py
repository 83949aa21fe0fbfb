"""The ratings' rules without a service: stars and text bounds, who may rate, the average."""

from __future__ import annotations

import pytest

from services.domain_errors import Conflict, InvalidInput, NotFound
from services.paging import newest_first
from services.risk.domain import ratings

SPEND = {"consumer_id": "c-1", "merchant_id": "m-1"}


def _rate(spend, consumer="c-1"):
    return ratings.rate(
        spend, consumer, rating_id="rt-1", redemption_id="r-1", stars=5, text_encrypted="", now="t"
    )


@pytest.mark.parametrize("stars", [0, 6, 4.0, True, "5", None])
def test_stars_are_a_whole_number_from_one_to_five(stars):
    with pytest.raises(InvalidInput):
        ratings.check_rating(stars, "")


def test_text_has_at_most_200_characters():
    ratings.check_rating(3, "好" * 200)
    with pytest.raises(InvalidInput):
        ratings.check_rating(3, "好" * 201)


def test_only_a_learnt_spend_of_ones_own_is_rated():
    with pytest.raises(Conflict) as unknown:
        _rate(None)
    assert unknown.value.code == "spend_not_confirmed"
    with pytest.raises(NotFound):
        _rate(SPEND, consumer="c-2")
    assert _rate(SPEND).merchant_id == "m-1"


@pytest.mark.parametrize(
    "stars_sum, count, tenths",
    [(0, 0, None), (4, 1, 40), (9, 2, 45), (13, 3, 43), (14, 3, 47), (1, 3, 3), (2, 3, 7)],
)
def test_the_average_is_in_tenths_rounded_half_up(stars_sum, count, tenths):
    assert ratings.average_tenths(stars_sum, count) == tenths


def test_newest_first_keys_sort_later_times_first():
    times = [
        "2026-01-01T00:00:00+00:00",
        "2026-01-01T00:00:00.000001+00:00",
        "2030-06-01T08:00:00+08:00",
    ]
    keys = [newest_first(t) for t in times]
    assert sorted(keys) == keys[::-1] and len({len(k) for k in keys}) == 1
