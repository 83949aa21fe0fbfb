"""Finding 14: cooling-off did not return the full price.

A period card refunded on day 6 of its cooling-off returned the price less 5 days' releases,
and under an escrow ratio below 100% only the escrowed share came back: the up-front share
and the daily accruals had already gone to the merchant. domain-rules.md ("How the platform
keeps the cooling-off promise") says: during the window no money of the card reaches the
merchant; the held money is released when the window closes or at the first confirmed spend.

Through the escrow's use cases over a real SQLite store, the simulated bank's statement
files and the scheduled work run every day: for each card type, at escrow ratios 100% and
40%, a refund within the window of an unused card returns exactly the price, the merchant's
payouts never include it, the held money is released after the window (nothing stuck), and
deposited = held + released + refunded holds throughout.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import commands, projections, queries, scheduled_work
from services.escrow.domain import refunds, releases
from services.escrow.domain.card import Card
from services.escrow.domain.events import CardPurchased, DepositConfirmed

BASE = load_policy()
T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
PRODUCTS = {
    "stored_value": {
        "merchant_id": "m-1",
        "type": "stored_value",
        "price": 100_000,
        "bonus": 20_000,
        "uses": 0,
        "validity_days": 365,
        "period_days": 0,
    },
    "count": {
        "merchant_id": "m-1",
        "type": "count",
        "price": 80_000,
        "bonus": 0,
        "uses": 10,
        "validity_days": 180,
        "period_days": 0,
    },
    "period": {
        "merchant_id": "m-1",
        "type": "period",
        "price": 90_000,
        "bonus": 0,
        "uses": 0,
        "validity_days": 0,
        "period_days": 90,
    },
}


class Products:
    def product_for_sale(self, product_id):
        return PRODUCTS[product_id]


def policy_at(ratio: int):
    return dataclasses.replace(BASE, escrow=dataclasses.replace(BASE.escrow, ratio_percent=ratio))


class Escrow:
    def __init__(self, ratio: int):
        self.dir = Path(tempfile.mkdtemp(prefix="cooling-off-"))
        self.store = SqliteEventStore(self.dir / "escrow.db")
        self.now = T0
        self.bank = SimulatedBank(self.dir / "bank", clock=lambda: self.now)
        self.policy = policy_at(ratio)

    def close(self):
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def buy(self, kind: str, consumer: str = "c-1") -> str:
        return commands.purchase_card(
            consumer,
            kind,
            store=self.store,
            merchants=Products(),
            bank=self.bank,
            policy=self.policy,
            now=self.now,
        )["card_id"]

    def days_pass(self, until: datetime) -> None:
        """The scheduled work runs every hour-ish of every day up to `until`, paying out."""
        while self.now < until:
            self.now = min(until, self.now + timedelta(hours=6))
            scheduled_work.sweep(store=self.store, bank=self.bank, policy=self.policy, now=self.now)
            self.check_money_rule()

    def card(self, card_id: str) -> dict:
        return queries.get_card(card_id, store=self.store)

    def check_money_rule(self) -> None:
        for _, view in self.store.list_views(projections.CARDS, "", 1000):
            assert (
                view["deposited"]
                == view["escrow_held"] + view["released_amount"] + view["refunded_amount"]
            ), view
            assert min(view["escrow_held"], view["released_amount"], view["refunded_amount"]) >= 0

    def paid_out(self) -> int:
        return sum(p["amount"] for p in queries.settlements("m-1", store=self.store)["items"])

    def owed(self) -> int:
        return sum(d["amount"] for _, d in self.store.list_views(projections.UNSETTLED, "", 1000))


@settings(max_examples=24, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(sorted(PRODUCTS)),
    ratio=st.sampled_from([100, 40]),
    hours=st.integers(0, 7 * 24),
)
def test_a_refund_within_the_window_returns_the_whole_price(kind, ratio, hours):
    escrow = Escrow(ratio)
    try:
        card_id = escrow.buy(kind)
        escrow.days_pass(T0 + timedelta(hours=hours))  # up to the window's last moment
        card = escrow.card(card_id)
        assert card["released_amount"] == 0, "nothing of the card reached the merchant"
        refund = commands.refund_card(
            card_id,
            "c-1",
            rule=None,
            store=escrow.store,
            bank=escrow.bank,
            policy=escrow.policy,
            now=escrow.now,
        )
        price = PRODUCTS[kind]["price"]
        assert (refund["rule"], refund["refund_amount"]) == ("cooling_off", price)
        escrow.days_pass(escrow.now + timedelta(days=3))  # payouts run after the refund
        assert escrow.paid_out() == escrow.owed() == 0, "the merchant was paid none of it"
        card = escrow.card(card_id)
        assert (card["refunded_amount"], card["released_amount"], card["escrow_held"]) == (
            price,
            0,
            0,
        )
        refunds = [
            m["amount"]
            for f in (escrow.dir / "bank").glob("*.jsonl")
            for m in map(json.loads, f.read_text().splitlines())
            if m["kind"] == "refund"
        ]
        assert refunds == [price], "the bank returned the whole price"
    finally:
        escrow.close()


@pytest.mark.parametrize("ratio", [100, 40])
@pytest.mark.parametrize("kind", sorted(PRODUCTS))
def test_on_day_six_and_after_the_window_nothing_is_stuck(kind, ratio):
    escrow = Escrow(ratio)
    try:
        refunded, kept = escrow.buy(kind, "c-1"), escrow.buy(kind, "c-2")
        escrow.days_pass(T0 + timedelta(days=5, hours=3))  # day 6
        price = PRODUCTS[kind]["price"]
        assert (
            commands.refund_card(
                refunded,
                "c-1",
                rule=None,
                store=escrow.store,
                bank=escrow.bank,
                policy=escrow.policy,
                now=escrow.now,
            )["refund_amount"]
            == price
        )
        assert escrow.card(kept)["released_amount"] == 0
        assert escrow.card(kept)["escrow_held"] == price
        escrow.days_pass(T0 + timedelta(days=10, hours=1))  # window closed
        kept_card = escrow.card(kept)
        upfront = price - price * ratio // 100
        earned = 10 * price // 90 if kind == "period" else 0
        assert kept_card["released_amount"] == max(upfront, earned), (
            "the held share and days were released when the window closed"
        )
        assert escrow.paid_out() + escrow.owed() == kept_card["released_amount"], (
            "the merchant is paid for the kept card only"
        )
        assert escrow.paid_out() > 0 or upfront == earned == 0
        stats = queries.merchant_stats("m-1", store=escrow.store)
        assert stats["upfront_paid"] == min(kept_card["released_amount"], upfront)
    finally:
        escrow.close()


@pytest.mark.parametrize("ratio", [100, 40])
def test_the_first_confirmed_spend_ends_the_window_and_releases_the_share(ratio):
    escrow = Escrow(ratio)
    try:
        card_id = escrow.buy("stored_value")
        escrow.days_pass(T0 + timedelta(days=2))
        hold = commands.request_redemption(
            card_id,
            "m-1",
            value=12_000,
            uses=0,
            store=escrow.store,
            policy=escrow.policy,
            now=escrow.now,
        )
        done = commands.confirm_redemption(
            hold["redemption_id"], "c-1", store=escrow.store, now=escrow.now
        )
        assert done["released_amount"] == max(10_000, 100_000 - 100_000 * ratio // 100)
        refund = commands.refund_card(
            card_id,
            "c-1",
            rule=None,
            store=escrow.store,
            bank=escrow.bank,
            policy=escrow.policy,
            now=escrow.now,
        )
        assert refund["rule"] == "on_request"
        assert refund["refund_amount"] + done["released_amount"] == 100_000
    finally:
        escrow.close()


def test_cards_activated_before_the_hold_replay_as_they_were():
    """Stored events of a card whose up-front share was paid at once (no CoolingOffStarted)
    replay to the same money: the share stays released, nothing is paid twice."""
    purchase = CardPurchased(
        "c-old",
        "consumer-1",
        "m-1",
        "p-1",
        "period",
        90_000,
        0,
        0,
        0,
        90,
        "pay-1",
        40,
        T0.isoformat(),
    )
    deposit = DepositConfirmed(
        "c-old",
        "m-1",
        "pay-1",
        90_000,
        36_000,
        54_000,
        T0.isoformat(),
        (T0 + timedelta(days=90)).isoformat(),
    )
    card = Card.from_events("c-old", [purchase, deposit])
    assert (card.released, card.held, card.upfront, card.cooling_off_ends_at) == (
        54_000,
        36_000,
        54_000,
        None,
    )
    released = releases.release_due(card, T0 + timedelta(days=3), disputed=False)
    assert sum(e.released_amount for e in released) == 0, (
        "3 days earn less than the share already paid"
    )
    for event in released:
        card.apply(event)
    refund = refunds.refund(card, "cooling_off", T0 + timedelta(days=3), cooling_off_days=7)
    assert refund[-1].refund_amount == 36_000, "what is still held; the share was paid then"
    for event in refund:
        card.apply(event)
    card.check_invariant()
