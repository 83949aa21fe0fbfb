"""A merchant's figures: kept by each command, equal to a fold of the whole event log."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import commands, defaults, queries, scheduled_work
from services.escrow.application.store import CODEC
from services.escrow.domain import stats
from services.escrow.domain.card import Card
from tests.support.products import Products

POLICY = load_policy()
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
PRODUCTS = Products(
    sv={
        "merchant_id": "m-1",
        "type": "stored_value",
        "price": 100_000,
        "bonus": 20_000,
        "uses": 0,
        "validity_days": 365,
        "period_days": 0,
    },
    count={
        "merchant_id": "m-1",
        "type": "count",
        "price": 80_000,
        "bonus": 0,
        "uses": 10,
        "validity_days": 180,
        "period_days": 0,
    },
    period={
        "merchant_id": "m-1",
        "type": "period",
        "price": 90_000,
        "bonus": 0,
        "uses": 0,
        "validity_days": 0,
        "period_days": 90,
    },
    other={
        "merchant_id": "m-2",
        "type": "count",
        "price": 10_000,
        "bonus": 0,
        "uses": 5,
        "validity_days": 30,
        "period_days": 0,
    },
)


@pytest.fixture
def env(tmp_path):
    store = SqliteEventStore(tmp_path / "escrow.db")
    yield store, SimulatedBank(tmp_path / "statements", clock=lambda: T0)
    store.close()


def from_the_log(store, merchant_id: str) -> dict:
    """The oracle: every card folded from its own events, and the payouts, summed afresh."""
    streams, paid = defaultdict(list), 0
    after = 0
    while page := store.read_all(after, 1000):
        for record in page:
            after = record.position
            if record.stream.startswith("card-"):
                streams[record.stream].append(CODEC.decode(record))
            elif (
                record.type == "escrow.PayoutMade.v1" and record.data["merchant_id"] == merchant_id
            ):
                paid += record.data["amount"]
    totals = stats.empty(merchant_id)
    for stream, events in streams.items():
        card = Card.from_events(stream, events)
        if card.purchase.merchant_id == merchant_id:
            totals = stats.add(totals, stats.empty(merchant_id), stats.contribution(card))
    return {**totals, "paid_out": paid}


def buy(env, product, consumer="c-1", policy=POLICY, now=T0):
    store, bank = env
    return commands.purchase_card(
        consumer, product, store=store, merchants=PRODUCTS, bank=bank, policy=policy, now=now
    )["card_id"]


def spend(store, card_id, consumer="c-1", now=T0, **amount):
    hold = commands.request_redemption(
        card_id,
        "m-1",
        value=amount.get("value", 0),
        uses=amount.get("uses", 0),
        store=store,
        policy=POLICY,
        now=now,
    )
    return commands.confirm_redemption(hold["redemption_id"], consumer, store=store, now=now)


def test_figures_follow_issuance_redemption_refunds_and_payouts(env):
    store, bank = env
    assert queries.merchant_stats("m-1", store=store) == stats.empty("m-1")
    sv, count = buy(env, "sv"), buy(env, "count")
    buy(env, "period", consumer="c-2")
    buy(env, "other", consumer="c-3")
    spend(store, sv, value=30_000)  # releases 30,000 x 100,000 / 120,000 = 25,000
    spend(store, count, uses=3)  # releases 3 x 8,000 = 24,000
    commands.request_redemption(
        count, "m-1", value=0, uses=2, store=store, policy=POLICY, now=T0
    )  # a pending hold moves no figure
    scheduled_work.sweep(store=store, bank=bank, policy=POLICY, now=T0 + timedelta(days=30))
    # 30 of 90 days elapsed: 30,000 released; holds lapsed; day-one releases paid out T+1.
    commands.refund_card(
        sv, "c-1", rule=None, store=store, bank=bank, policy=POLICY, now=T0 + timedelta(days=30)
    )
    figures = queries.merchant_stats("m-1", store=store)
    assert figures == {
        "merchant_id": "m-1",
        "currency": "CNY",
        "cards_issued": 3,
        "issuance_amount": 270_000,
        "redemptions_confirmed": 2,
        "redemption_amount": 25_000 + 24_000 + 30_000,
        "upfront_paid": 0,
        "cards_refunded": 1,
        "refund_amount": 75_000,
        "open_cards": 2,
        "outstanding_balance": (80_000 - 24_000) + (90_000 - 30_000),
        "escrow_held": (80_000 - 24_000) + (90_000 - 30_000),
        "paid_out": 25_000 + 24_000,
    }
    assert figures["issuance_amount"] == (
        figures["redemption_amount"] + figures["refund_amount"] + figures["escrow_held"]
    )
    assert figures == from_the_log(store, "m-1")
    assert queries.merchant_stats("m-2", store=store)["issuance_amount"] == 10_000
    assert from_the_log(store, "m-2") == queries.merchant_stats("m-2", store=store)


def test_a_partial_escrow_ratio_shows_outstanding_above_escrow_held(env):
    store, bank = env
    partial = dataclasses.replace(
        POLICY, escrow=dataclasses.replace(POLICY.escrow, ratio_percent=40)
    )
    card_id = buy(env, "count", policy=partial)
    spend(store, card_id, uses=3)  # 24,000 earned, all covered by the 48,000 paid up front
    figures = queries.merchant_stats("m-1", store=store)
    assert (figures["upfront_paid"], figures["redemption_amount"]) == (48_000, 0)
    assert figures["escrow_held"] == 32_000
    assert figures["outstanding_balance"] == 80_000 - 24_000, (
        "the merchant still owes 7 lessons, whatever it was paid up front"
    )
    spend(store, card_id, uses=4)  # 56,000 earned: 8,000 more leaves escrow
    figures = queries.merchant_stats("m-1", store=store)
    assert (figures["redemption_amount"], figures["escrow_held"]) == (8_000, 24_000)
    assert figures["outstanding_balance"] == 24_000
    assert figures == from_the_log(store, "m-1")


def test_a_default_moves_every_card_to_refunded(env):
    store, bank = env
    cards = [buy(env, "count", consumer=f"c-{i}") for i in range(7)]
    spend(store, cards[0], consumer="c-0", uses=5)
    result = defaults.default_merchant(
        "m-1",
        "absconded",
        "regulator:r",
        store=store,
        bank=bank,
        policy=POLICY,
        now=T0 + timedelta(hours=1),
    )
    figures = queries.merchant_stats("m-1", store=store)
    assert result["amount_refunded"] == figures["refund_amount"] == 7 * 80_000 - 40_000
    assert (figures["open_cards"], figures["cards_refunded"]) == (0, 7)
    assert figures["outstanding_balance"] == figures["escrow_held"] == 0
    assert figures == from_the_log(store, "m-1")
