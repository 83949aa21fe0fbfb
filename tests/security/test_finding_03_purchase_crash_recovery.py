"""Finding 3, the rest of it: a purchase whose process died after the bank took the money.

`purchase_card` records the card (pending_payment), asks the bank for the deposit, then
activates the card or returns the money. A process that died between the bank's yes and the
activation left the card pending for ever: the money at the bank, the consumer's cap used.
The simulated bank of demo mode never calls back, and a real bank whose callback was lost
leaves the same state.

Now the escrow's scheduled work rechecks each payment still pending some minutes after its
purchase (policy `[escrow] pending_payment_recheck_minutes`) against the bank's statement:
a deposit there activates the card (or returns the money if it cannot be activated); a
payment the bank never took is abandoned after `pending_payment_abandon_hours`, the cap freed
and no money moved. A bank confirmation arriving later never moves money twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import commands, projections, queries, scheduled_work
from services.escrow.application.reconciliation import reconcile
from services.escrow.application.store import card_stream, load_card

POLICY = load_policy()
T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
BIG = {
    "merchant_id": "m-1",
    "type": "stored_value",
    "price": 500_000,
    "bonus": 0,
    "uses": 0,
    "validity_days": 365,
    "period_days": 0,
}
PRICE = 500_000
assert BIG["price"] == PRICE
CAP_CARDS = POLICY.cards.max_consumer_total_per_merchant // PRICE


class Products:
    def product_for_sale(self, product_id):
        return dict(BIG)


class SilentBank(SimulatedBank):
    """A bank that takes nothing at purchase and confirms later, if ever."""

    def request_deposit(self, payment_id, card_id, amount):
        return False

    def take_late(self, payment_id, card_id, amount):
        return super().request_deposit(payment_id, card_id, amount)


@pytest.fixture
def env(tmp_path):
    store = SqliteEventStore(tmp_path / "escrow.db")
    bank = SimulatedBank(tmp_path / "statements", clock=lambda: T0)
    yield store, bank
    store.close()


def buy(store, bank, consumer="c-1"):
    return commands.purchase_card(
        consumer, "big", store=store, merchants=Products(), bank=bank, policy=POLICY, now=T0
    )


def buy_and_crash(store, bank, monkeypatch) -> str:
    """The process dies after the bank took the money, before the card was activated."""

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("the escrow process died here")

    bought = {}
    real_request = bank.request_deposit

    def request_deposit(payment_id, card_id, amount):
        bought["card_id"] = card_id
        return real_request(payment_id, card_id, amount)

    monkeypatch.setattr(bank, "request_deposit", request_deposit)
    monkeypatch.setattr(commands, "confirm_payment", killed)
    with pytest.raises(KeyboardInterrupt):
        buy(store, bank)
    monkeypatch.undo()
    assert queries.get_card(bought["card_id"], store=store)["status"] == "pending_payment"
    return bought["card_id"]


def sweep(store, bank, when):
    return scheduled_work.sweep(store=store, bank=bank, policy=POLICY, now=when)


def movements(bank, card_id, day=T0):
    return [
        (m["kind"], m["amount"])
        for m in bank.statement(day.date().isoformat())
        if m["account"] == card_id
    ]


def events_of(store, card_id):
    return [r.type for r in store.read_stream(card_stream(card_id))]


def recheck_at():
    return T0 + timedelta(minutes=POLICY.escrow.pending_payment_recheck_minutes, seconds=1)


def abandon_at():
    return T0 + timedelta(hours=POLICY.escrow.pending_payment_abandon_hours, seconds=1)


def test_a_deposit_the_bank_took_before_the_crash_activates_the_card(env, monkeypatch):
    store, bank = env
    card_id = buy_and_crash(store, bank, monkeypatch)
    payment_id = load_card(store, card_id).purchase.payment_id
    early = sweep(store, bank, T0 + timedelta(minutes=1))
    assert early["pending_payments_recovered"] == 0, "not due before the recheck time"
    assert queries.get_card(card_id, store=store)["status"] == "pending_payment"

    assert sweep(store, bank, recheck_at())["pending_payments_recovered"] == 1
    card = queries.get_card(card_id, store=store)
    assert (card["status"], card["deposited"], card["escrow_held"], card["refunded_amount"]) == (
        "active",
        PRICE,
        PRICE,
        0,
    )
    assert store.list_views(projections.PENDING_PAYMENTS, "", 10) == []

    # The bank's own confirmation arriving late, and later sweeps, change nothing.
    late = commands.confirm_payment(
        payment_id,
        PRICE,
        store=store,
        bank=bank,
        policy=POLICY,
        now=recheck_at() + timedelta(minutes=5),
    )
    assert late["status"] == "active"
    sweep(store, bank, abandon_at())
    assert movements(bank, card_id) == [("deposit", PRICE)], "exactly one deposit, no refund"
    assert events_of(store, card_id).count("escrow.DepositConfirmed.v1") == 1
    report = reconcile(T0.date().isoformat(), bank.statement(T0.date().isoformat()), store=store)
    assert report["missing_at_bank"] == report["unexpected_at_bank"] == []


def test_a_card_that_cannot_be_activated_any_more_gets_its_money_back_once(env, monkeypatch):
    store, bank = env
    card_id = buy_and_crash(store, bank, monkeypatch)
    payment_id = load_card(store, card_id).purchase.payment_id
    with store.unit_of_work() as uow:  # the merchant was declared defaulted meanwhile
        uow.put_view(projections.DEFAULTS, "m-1", {"merchant_id": "m-1"})
    assert sweep(store, bank, recheck_at())["pending_payments_recovered"] == 1
    card = queries.get_card(card_id, store=store)
    assert (card["status"], card["deposited"], card["refunded_amount"]) == (
        "refunded",
        PRICE,
        PRICE,
    )
    with pytest.raises(Exception) as again:
        commands.confirm_payment(
            payment_id, PRICE, store=store, bank=bank, policy=POLICY, now=recheck_at()
        )
    assert getattr(again.value, "code", "") == "card_not_pending"
    sweep(store, bank, abandon_at())
    assert movements(bank, card_id) == [("deposit", PRICE), ("refund", PRICE)]
    assert store.list_views(projections.PENDING_PAYMENTS, "", 10) == []


def test_a_payment_the_bank_never_took_is_abandoned_and_frees_the_cap(env):
    store, _ = env
    silent = SilentBank(env[1].statement_dir, clock=lambda: T0)
    pending = [buy(store, silent)["card_id"] for _ in range(CAP_CARDS)]
    assert all(queries.get_card(c, store=store)["status"] == "pending_payment" for c in pending)
    with pytest.raises(Exception) as capped:
        buy(store, silent)
    assert getattr(capped.value, "code", "") == "consumer_cap_exceeded"

    assert sweep(store, silent, recheck_at())["payments_abandoned"] == 0, "not yet"
    assert queries.get_card(pending[0], store=store)["status"] == "pending_payment"
    done = sweep(store, silent, abandon_at())
    assert done["payments_abandoned"] == CAP_CARDS
    for card_id in pending:
        card = queries.get_card(card_id, store=store)
        assert (card["status"], card["deposited"], card["refunded_amount"]) == ("abandoned", 0, 0)
        assert events_of(store, card_id)[-1] == "escrow.PaymentAbandoned.v1"
        assert movements(silent, card_id) == [], "no money moved"
    assert store.list_views(projections.PENDING_PAYMENTS, "", 10) == []
    assert sweep(store, silent, abandon_at())["payments_abandoned"] == 0

    # The cap is free again: the same cards fit (the bank takes these at once).
    for _ in range(CAP_CARDS):
        assert (
            buy(store, SimulatedBank(silent.statement_dir, clock=lambda: T0))["status"] == "active"
        )


def test_a_bank_confirming_an_abandoned_payment_late_gets_the_money_back(env):
    store, bank = env
    silent = SilentBank(bank.statement_dir, clock=lambda: T0)
    bought = buy(store, silent)
    card_id, payment_id = bought["card_id"], bought["payment"]["payment_id"]
    sweep(store, silent, abandon_at())
    assert queries.get_card(card_id, store=store)["status"] == "abandoned"

    silent.take_late(payment_id, card_id, PRICE)  # the money arrives after all
    with pytest.raises(Exception) as refused:
        commands.confirm_payment(
            payment_id, PRICE, store=store, bank=silent, policy=POLICY, now=abandon_at()
        )
    assert refused.value.details["returned_amount"] == PRICE
    card = queries.get_card(card_id, store=store)
    assert (card["status"], card["deposited"], card["refunded_amount"], card["escrow_held"]) == (
        "refunded",
        PRICE,
        PRICE,
        0,
    )
    assert movements(silent, card_id) == [("deposit", PRICE), ("refund", PRICE)]
    # The cap was freed once, at the abandonment: the consumer may buy up to it, not beyond.
    for _ in range(CAP_CARDS):
        buy(store, bank)
    with pytest.raises(Exception) as capped:
        buy(store, bank)
    assert getattr(capped.value, "code", "") == "consumer_cap_exceeded"
