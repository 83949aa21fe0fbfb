"""The city's figures and the 红黑榜 as views of the events, over a real SQLite store: kept
per industry and per day as events and code changes arrive, in any order, and rebuilt the
same by a replay."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eventstore.sqlite import SqliteEventStore
from services.domain_errors import InvalidInput, NotFound
from services.risk.application import city, history, public_lists
from tests.support.risk_city import RULES, T0, applied, card, flag, publish, shops, status


@pytest.fixture
def store(tmp_path):
    opened = SqliteEventStore(tmp_path / "risk.db")
    yield opened
    opened.close()


def rows(store):
    return {item["key"]: item for item in city.by_industry(store=store)["items"]}


def test_each_industry_sums_its_merchants_and_the_total_has_coverage_in_basis_points(store):
    applied(store, "m-a", "fitness")
    applied(store, "m-b", "fitness")
    applied(store, "m-c", "education")
    card(store, "m-a", 1, T0, upfront=2_500)  # 7,500 held of 10,000 owed
    card(store, "m-b", 1, T0)
    card(store, "m-b", 2, T0)
    card(store, "m-c", 1, T0, amount=30_000)
    publish(
        store,
        "escrow.CardRefunded",
        T0 + timedelta(hours=1),
        merchant_id="m-b",
        card_id="m-b-2",
        consumer_id="c-1",
        rule="on_request",
        refund_amount=10_000,
        inputs={},
    )
    fitness, education = rows(store)["fitness"], rows(store)["education"]
    assert fitness["merchants"] == 2 and fitness["cards_issued"] == 3
    assert fitness["outstanding_liability"] == 20_000
    assert fitness["escrow_held"] == 17_500
    assert fitness["refunds"] == 10_000
    assert fitness["escrow_coverage_bp"] == 8_750
    assert sum(fitness["by_code"].values()) == 2
    assert education["outstanding_liability"] == 30_000
    total = city.by_industry(store=store)["total"]
    assert total["merchants"] == 3 and total["outstanding_liability"] == 50_000
    assert total["escrow_coverage_bp"] == 47_500 * 10_000 // 50_000


def test_a_merchant_seen_before_its_application_moves_to_its_industry(store):
    card(store, "m-late", 1, T0)
    assert rows(store)["other"]["merchants"] == 1
    applied(store, "m-late", "beauty", T0 + timedelta(minutes=1))
    assert "other" not in rows(store)
    assert rows(store)["beauty"]["cards_issued"] == 1


def test_a_code_change_moves_the_merchant_between_codes(store):
    applied(store, "m-a", "retail")
    card(store, "m-a", 1, T0)
    assert rows(store)["retail"]["by_code"]["red"] == 0
    status(store, "m-a", "defaulted", T0 + timedelta(hours=1), reason="gone")
    assert rows(store)["retail"]["by_code"] == {"green": 0, "yellow": 0, "red": 1}


def test_days_add_up_whatever_order_the_events_came_in(store):
    applied(store, "m-a", "catering", T0 - timedelta(days=5))
    card(store, "m-a", 2, T0)  # day 0, arriving first
    card(store, "m-a", 1, T0 - timedelta(days=2))  # an older day, arriving late
    days = city.by_day(
        (T0 - timedelta(days=3)).date().isoformat(), T0.date().isoformat(), store=store
    )["items"]
    assert [d["cards_issued"] for d in days] == [0, 1, 1, 2]
    assert days[-1]["outstanding_liability"] == 20_000


def test_a_day_range_is_checked(store):
    with pytest.raises(InvalidInput):
        city.by_day("2026-09-02", "2026-09-01", store=store)
    with pytest.raises(InvalidInput):
        city.by_day("2025-01-01", "2026-09-01", store=store)


def test_the_lists_follow_status_flags_and_codes(store):
    shops(store, dict.fromkeys(("m-d", "m-f", "m-x"), "fitness"))
    status(store, "m-d", "delisted", T0 + timedelta(hours=1), by="risk", reason="red too long")
    flag(store, "m-f", T0 + timedelta(hours=2))
    red = public_lists.listed("red", store=store)["items"]
    black = public_lists.listed("black", store=store)["items"]
    assert [(e["merchant_id"], e["reason_code"], e["name"]) for e in red] == [
        ("m-d", "delisted", "店 m-d")
    ]
    assert red[0]["since"] == (T0 + timedelta(hours=1)).isoformat()
    assert "下架" in red[0]["reason"]
    assert [(e["merchant_id"], e["reason_code"]) for e in black] == [("m-f", "dishonest_debtor")]
    # A defaulted merchant moves from red to black.
    status(store, "m-d", "defaulted", T0 + timedelta(hours=3), reason="gone")
    flag(store, "m-f", T0 + timedelta(hours=4), on=False)
    # The lifted flag leaves the black list; the red code it caused stays until it improves.
    red = public_lists.listed("red", store=store)["items"]
    assert [(e["merchant_id"], e["reason_code"]) for e in red] == [("m-f", "red_code")]
    black = public_lists.listed("black", store=store)["items"]
    assert [(e["merchant_id"], e["reason_code"]) for e in black] == [("m-d", "defaulted")]
    assert black[0]["since"] == (T0 + timedelta(hours=3)).isoformat()


def test_the_history_has_a_row_a_day_every_change_and_the_thresholds(store):
    applied(store, "m-a", "fitness", T0 - timedelta(days=3))
    publish(
        store,
        "merchant.MerchantApproved",
        T0 - timedelta(days=3),
        merchant_id="m-a",
        approved_by="op",
    )
    card(store, "m-a", 1, T0 - timedelta(days=2))
    flag(store, "m-a", T0, source="court")
    found = history.health_history(
        "m-a",
        (T0 - timedelta(days=5)).date().isoformat(),
        (T0 + timedelta(days=1)).date().isoformat(),
        store=store,
        rules=RULES,
    )
    days = found["days"]
    # Nothing before the first evaluation; the day between two evaluations repeats the first.
    assert [d["date"] for d in days] == [
        (T0 + timedelta(days=n)).date().isoformat() for n in range(-3, 2)
    ]
    assert [d["open_cards"] for d in days] == [0, 1, 1, 1, 1]
    assert [d["code"] for d in days][-2:] == ["red", "red"]
    assert {"coverage_percent", "dormancy_days", "refund_rate_per_mille"} <= set(days[0])
    assert [c["code"] for c in found["changes"]][-1] == "red"
    assert found["changes"][0]["previous"] == "unassessed"
    assert [r["indicator"] for r in found["changes"][-1]["reasons"]] == ["flag:dishonest_debtor"]
    assert found["thresholds"]["coverage_percent"] == {
        "higher_is_better": True,
        "green": RULES.green_min_coverage_percent,
        "red": RULES.hard_min_coverage_percent,
    }


def test_the_history_of_an_unknown_merchant_is_not_found_and_its_range_is_checked(store):
    with pytest.raises(NotFound):
        history.health_history("m-none", "2026-09-01", "2026-09-02", store=store, rules=RULES)
    applied(store, "m-a", "fitness")
    card(store, "m-a", 1, T0)
    with pytest.raises(InvalidInput):
        history.health_history("m-a", "2026-09-02", "2026-09-01", store=store, rules=RULES)
