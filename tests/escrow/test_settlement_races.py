"""Two settlement runs at once (the escrow's timer and the demo clock, or two replicas) pay
each released fen exactly once."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest

from eventstore.sqlite import SqliteEventStore
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import commands, settlements
from tests.support.escrow_cards import POLICY, T0, buy


class RunsFirst:
    """The store as one settlement run sees it, while `rival` runs a whole settlement of
    its own just before this run's first transaction: the interleaving of two runs that
    both listed what is owed before either paid it."""

    def __init__(self, store: SqliteEventStore, rival):
        self.store, self.rival = store, rival

    def __getattr__(self, name):
        return getattr(self.store, name)

    @contextmanager
    def unit_of_work(self):
        rival, self.rival = self.rival, None
        if rival is not None:
            rival()
        with self.store.unit_of_work() as uow:
            yield uow


@pytest.fixture
def released(tmp_path):
    """A store where some money was released to m-1 on T0's day, a bank, and how much."""
    store = SqliteEventStore(tmp_path / "escrow.db")
    bank = SimulatedBank(tmp_path / "statements", clock=lambda: T0)
    card_id = buy(store, bank)["card_id"]
    hold = commands.request_redemption(
        card_id, "m-1", value=3_000, uses=0, store=store, policy=POLICY, now=T0
    )
    done = commands.confirm_redemption(hold["redemption_id"], "c-1", store=store, now=T0)
    yield store, bank, done["released_amount"]
    store.close()


def payouts_of(store, merchant_id: str) -> list[int]:
    return [
        r.data["amount"]
        for r in store.read_stream(f"payouts-{merchant_id}")
        if r.type == "escrow.PayoutMade.v1"
    ]


def test_two_runs_that_both_saw_a_day_owed_pay_it_once(released):
    store, bank, amount = released
    tomorrow = T0 + timedelta(days=1)

    def rival():
        settlements.settle(store=store, bank=bank, policy=POLICY, now=tomorrow)

    late = settlements.settle(store=RunsFirst(store, rival), bank=bank, policy=POLICY, now=tomorrow)
    assert late == [], "the rival paid the day; the late run has nothing left to pay"
    assert payouts_of(store, "m-1") == [amount]
    sent = [s for s in bank.statement(T0.date().isoformat()) if s["kind"] == "payout"]
    assert [(s["account"], s["amount"]) for s in sent] == [("m-1", amount)]


def test_a_release_added_to_a_listed_day_is_paid_in_full_later(released):
    """A run pays what the day holds when it commits, never an older listing of it: money
    released onto a listed day between the listing and the payout is not cleared unpaid."""
    store, bank, amount = released
    tomorrow = T0 + timedelta(days=1)
    card_id = buy(store, bank, consumer="c-2")["card_id"]

    more = []

    def release_more():
        hold = commands.request_redemption(
            card_id, "m-1", value=1_200, uses=0, store=store, policy=POLICY, now=T0
        )
        done = commands.confirm_redemption(hold["redemption_id"], "c-2", store=store, now=T0)
        more.append(done["released_amount"])

    settlements.settle(store=RunsFirst(store, release_more), bank=bank, policy=POLICY, now=tomorrow)
    settlements.settle(store=store, bank=bank, policy=POLICY, now=tomorrow)
    assert more[0] > 0
    assert sum(payouts_of(store, "m-1")) == amount + more[0]
