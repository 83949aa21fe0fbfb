"""The escrow use cases over a real SQLite store: purchase to refund, and racing confirms."""

from __future__ import annotations

import os
import random
import threading
from datetime import timedelta

import pytest

from eventstore.sqlite import SqliteEventStore
from services.domain_errors import BusinessRuleViolation, Conflict, NotFound
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import (
    commands,
    daily_reconciliation,
    defaults,
    projections,
    queries,
    scheduled_work,
    settlements,
)
from services.escrow.application.store import card_stream
from services.escrow.domain.refund_due import add_working_days
from tests.support.escrow_cards import POLICY, T0, buy, buy_period
from tests.support.products import Products

ROUNDS = int(os.environ.get("CONFIRM_RACE_ROUNDS", "1000"))


@pytest.fixture
def env(tmp_path):
    store = SqliteEventStore(tmp_path / "escrow.db", pool_size=20)
    bank = SimulatedBank(tmp_path / "statements", clock=lambda: T0)
    yield store, bank
    store.close()


def test_purchase_redeem_confirm_refund(env):
    store, bank = env
    bought = buy(store, bank)
    assert bought["status"] == "active" and bought["payment"]["amount"] == 100_000
    card_id = bought["card_id"]
    hold = commands.request_redemption(
        card_id, "m-1", value=30_000, uses=0, store=store, policy=POLICY, now=T0
    )
    with pytest.raises(NotFound):
        commands.confirm_redemption(hold["redemption_id"], "c-2", store=store, now=T0)
    with pytest.raises(NotFound):
        commands.request_redemption(
            card_id, "m-2", value=1, uses=0, store=store, policy=POLICY, now=T0
        )
    done = commands.confirm_redemption(hold["redemption_id"], "c-1", store=store, now=T0)
    assert done["released_amount"] == 25_000
    assert commands.confirm_redemption(hold["redemption_id"], "c-1", store=store, now=T0) == done, (
        "a repeat answers the same"
    )
    card = queries.get_card(card_id, store=store)
    assert (card["deposited"], card["escrow_held"], card["released_amount"]) == (
        100_000,
        75_000,
        25_000,
    )
    assert card["balance"] == {"value": 90_000}
    refund = commands.refund_card(
        card_id, "c-1", rule=None, store=store, bank=bank, policy=POLICY, now=T0 + timedelta(days=1)
    )
    assert refund["rule"] == "on_request" and refund["refund_amount"] == 75_000
    card = queries.get_card(card_id, store=store)
    assert card["released_amount"] + card["refunded_amount"] == card["deposited"]
    kinds = [line["kind"] for line in bank.statement(T0.date().isoformat())]
    assert kinds == ["deposit", "refund"]
    assert [c["card_id"] for c in queries.consumer_cards("c-1", store=store)["items"]] == [card_id]
    assert queries.consumer_cards("c-2", store=store)["items"] == []


def test_cooling_off_refund_returns_the_whole_principal(env):
    store, bank = env
    card_id = buy(store, bank)["card_id"]
    refund = commands.refund_card(
        card_id, "c-1", rule=None, store=store, bank=bank, policy=POLICY, now=T0 + timedelta(days=6)
    )
    due = add_working_days(
        (T0 + timedelta(days=6)).date(), POLICY.refunds.cooling_off_due_working_days
    )
    assert refund == {
        "status": "refunded",
        "refund_amount": 100_000,
        "rule": "cooling_off",
        "event_id": refund["event_id"],
        "due_on": due.isoformat(),
    }
    with pytest.raises(Conflict):
        commands.refund_card(
            card_id,
            "c-1",
            rule=None,
            store=store,
            bank=bank,
            policy=POLICY,
            now=T0 + timedelta(days=6),
        )


def test_consumer_cap_per_merchant(env):
    store, bank = env
    for _ in range(4):
        buy(store, bank, product="big")  # 4 x 5,000 yuan = the 20,000 yuan cap
    with pytest.raises(BusinessRuleViolation) as info:
        buy(store, bank, product="sv")
    assert info.value.code == "consumer_cap_exceeded"
    buy(store, bank, consumer="c-2", product="sv")


def race_round(store, card_id: str, round_no: int, contenders: int) -> None:
    hold = commands.request_redemption(
        card_id, "m-1", value=1, uses=0, store=store, policy=POLICY, now=T0
    )
    rid, late = hold["redemption_id"], T0 + timedelta(minutes=20)

    def act(i):
        kind = ("confirm", "reject", "expire")[i % 3] if round_no % 2 else "confirm"
        try:
            if kind == "confirm":
                return commands.confirm_redemption(rid, "c-1", store=store, now=T0)
            if kind == "reject":
                return commands.void_redemption(rid, "c-1", "rejected", store=store, now=T0)
            return commands.void_redemption(rid, None, "expired", store=store, now=late)
        except Conflict as exc:
            return exc

    results: list[dict | Conflict | None] = [None] * contenders
    barrier = threading.Barrier(contenders)

    def worker(i):
        barrier.wait()
        results[i] = act(i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outcomes = {r["status"] for r in results if isinstance(r, dict)}
    assert len(outcomes) == 1, f"round {round_no}: {results}"
    confirmed = [r for r in results if isinstance(r, dict) and r["status"] == "confirmed"]
    assert len({(r["event_id"], r["released_amount"]) for r in confirmed}) <= 1
    records = store.read_stream(card_stream(card_id))
    settled = [
        r
        for r in records
        if r.data.get("redemption_id") == rid
        and r.type in ("escrow.RedemptionConfirmed.v1", "escrow.RedemptionVoided.v1")
    ]
    assert len(settled) == 1, f"round {round_no}: exactly one outcome is recorded"


def test_racing_confirms_reject_and_expiry_have_one_winner(env):
    """Odd rounds race confirm against reject against expiry; even rounds confirm only."""
    store, bank = env
    rng = random.Random(7)
    cards = []
    for round_no in range(ROUNDS):
        if round_no % 100 == 0:  # a fresh card now and then keeps the streams short
            cards.append(buy(store, bank)["card_id"])
        race_round(store, cards[-1], round_no, rng.randint(2, 16))
    for card_id in cards:
        card = queries.get_card(card_id, store=store)
        assert card["deposited"] == card["escrow_held"] + card["released_amount"]


def test_default_of_a_merchant_with_1000_open_cards_refunds_each_exactly_once(env):
    store, bank = env
    products = Products(
        card={
            "merchant_id": "m-9",
            "type": "count",
            "price": 9_999,
            "bonus": 0,
            "uses": 7,
            "validity_days": 365,
            "period_days": 0,
        },
        other={
            "merchant_id": "m-8",
            "type": "count",
            "price": 5_000,
            "bonus": 0,
            "uses": 5,
            "validity_days": 365,
            "period_days": 0,
        },
    )
    cards = [
        commands.purchase_card(
            f"c-{i}", "card", store=store, merchants=products, bank=bank, policy=POLICY, now=T0
        )["card_id"]
        for i in range(1000)
    ]
    bystander = commands.purchase_card(
        "c-x", "other", store=store, merchants=products, bank=bank, policy=POLICY, now=T0
    )["card_id"]
    for card_id in cards[:10]:  # some already partly used, one already refunded
        hold = commands.request_redemption(
            card_id, "m-9", value=0, uses=2, store=store, policy=POLICY, now=T0
        )
        commands.confirm_redemption(
            hold["redemption_id"],
            queries.get_card(card_id, store=store)["consumer_id"],
            store=store,
            now=T0,
        )
    commands.refund_card(
        cards[-1], None, rule="on_request", store=store, bank=bank, policy=POLICY, now=T0
    )
    later = T0 + timedelta(days=30)
    result = defaults.default_merchant(
        "m-9", "absconded", "regulator:r", store=store, bank=bank, policy=POLICY, now=later
    )
    used_refund = 9_999 - 2 * 9_999 // 7
    assert result == {"cards_refunded": 999, "amount_refunded": 989 * 9_999 + 10 * used_refund}
    again = defaults.default_merchant(
        "m-9", "absconded", "regulator:r", store=store, bank=bank, policy=POLICY, now=later
    )
    assert again == result, "a repeat refunds nothing twice"
    for card_id in cards:
        card = queries.get_card(card_id, store=store)
        assert card["status"] == "refunded" and card["escrow_held"] == 0
        assert card["released_amount"] + card["refunded_amount"] == card["deposited"]
        refunds = [
            r for r in store.read_stream(card_stream(card_id)) if r.type == "escrow.CardRefunded.v1"
        ]
        assert len(refunds) == 1
    assert queries.get_card(bystander, store=store)["status"] == "active"
    statement = bank.statement(T0.date().isoformat())
    assert sum(1 for s in statement if s["kind"] == "refund") == 1000


def test_scheduled_work_lapses_holds_expires_cards_and_releases_period_money(env):
    store, bank = env
    products = Products(
        year={
            "merchant_id": "m-1",
            "type": "period",
            "price": 36_500,
            "bonus": 0,
            "uses": 0,
            "validity_days": 0,
            "period_days": 365,
        }
    )
    stored = buy(store, bank)["card_id"]
    period = commands.purchase_card(
        "c-2", "year", store=store, merchants=products, bank=bank, policy=POLICY, now=T0
    )["card_id"]
    hold = commands.request_redemption(
        stored, "m-1", value=500, uses=0, store=store, policy=POLICY, now=T0
    )
    run = lambda when: scheduled_work.sweep(store=store, bank=bank, policy=POLICY, now=when)  # noqa: E731
    assert run(T0 + timedelta(minutes=14)) == {
        "holds_expired": 0,
        "cards_expired": 0,
        "period_releases": 0,
        "payouts": 0,
        "bank_instructions_resent": 0,
        "pending_payments_recovered": 0,
        "payments_abandoned": 0,
        "days_reconciled": 0,
    }
    assert run(T0 + timedelta(minutes=16))["holds_expired"] == 1
    with pytest.raises(Conflict):
        commands.confirm_redemption(
            hold["redemption_id"], "c-1", store=store, now=T0 + timedelta(minutes=17)
        )
    assert run(T0 + timedelta(days=10)) == {
        "holds_expired": 0,
        "cards_expired": 0,
        "period_releases": 1,
        "payouts": 0,
        "bank_instructions_resent": 0,
        "pending_payments_recovered": 0,
        "payments_abandoned": 0,
        "days_reconciled": 10,
    }
    assert queries.get_card(period, store=store)["released_amount"] == 1_000
    assert run(T0 + timedelta(days=10))["period_releases"] == 0, "once per elapsed day"
    year_later = run(T0 + timedelta(days=366))
    assert year_later["cards_expired"] == 2 and year_later["payouts"] == 1
    assert year_later["days_reconciled"] == 356, "every finished day since the last run"
    card = queries.get_card(stored, store=store)
    assert (card["status"], card["refunded_amount"]) == ("expired", 100_000)
    served = queries.get_card(period, store=store)
    assert served["released_amount"] == 36_500 and served["refunded_amount"] == 0
    assert run(T0 + timedelta(days=400)) == {
        "holds_expired": 0,
        "cards_expired": 0,
        "period_releases": 0,
        "payouts": 1,
        "bank_instructions_resent": 0,
        "pending_payments_recovered": 0,
        "payments_abandoned": 0,
        "days_reconciled": 34,
    }
    paid = queries.settlements("m-1", store=store)["items"]
    assert sum(p["amount"] for p in paid) == 36_500


def test_settlement_pays_released_money_the_next_day(env):
    store, bank = env
    day0 = T0
    cards = [buy(store, bank, consumer=f"c-{i}")["card_id"] for i in range(3)]
    for i, card_id in enumerate(cards):
        hold = commands.request_redemption(
            card_id, "m-1", value=12_000 * (i + 1), uses=0, store=store, policy=POLICY, now=day0
        )
        commands.confirm_redemption(hold["redemption_id"], f"c-{i}", store=store, now=day0)
    released = sum(queries.get_card(c, store=store)["released_amount"] for c in cards)
    assert released == 10_000 + 20_000 + 30_000
    assert settlements.settle(store=store, bank=bank, policy=POLICY, now=day0) == [], "T+1"
    paid = settlements.settle(store=store, bank=bank, policy=POLICY, now=day0 + timedelta(days=1))
    assert [(p["merchant_id"], p["amount"], p["days"]) for p in paid] == [
        ("m-1", 60_000, [day0.date().isoformat()])
    ]
    assert (
        settlements.settle(store=store, bank=bank, policy=POLICY, now=day0 + timedelta(days=2))
        == []
    ), "paid once"
    assert [p["amount"] for p in queries.settlements("m-1", store=store)["items"]] == [60_000]
    assert queries.settlements("m-2", store=store)["items"] == []
    payouts = [s for s in bank.statement(day0.date().isoformat()) if s["kind"] == "payout"]
    assert [(s["account"], s["amount"]) for s in payouts] == [("m-1", 60_000)]


def test_reconciliation_of_a_clean_day_and_of_every_kind_of_difference(env, tmp_path):
    from services.escrow.application.reconciliation import reconcile

    store, bank = env
    day = T0.date().isoformat()
    cards = [buy(store, bank, consumer=f"c-{i}")["card_id"] for i in range(3)]
    hold = commands.request_redemption(
        cards[0], "m-1", value=12_000, uses=0, store=store, policy=POLICY, now=T0
    )
    commands.confirm_redemption(hold["redemption_id"], "c-0", store=store, now=T0)
    commands.refund_card(cards[1], "c-1", rule=None, store=store, bank=bank, policy=POLICY, now=T0)
    clean = reconcile(day, bank.statement(day), store=store)
    assert clean == {"day": day, "matched": 4, "missing_at_bank": [], "unexpected_at_bank": []}

    statement = bank.statement(day)
    deposit = next(line for line in statement if line["kind"] == "deposit")
    statement.remove(deposit)  # the bank lost a deposit
    statement.append({**statement[0], "amount": 1})  # and shows an odd movement
    report = reconcile(day, statement, store=store)
    assert report["matched"] == 3
    assert report["missing_at_bank"] == [
        {"kind": "deposit", "reference": deposit["reference"], "amount": 100_000, "count": 1}
    ]
    assert len(report["unexpected_at_bank"]) == 1 and report["unexpected_at_bank"][0]["amount"] == 1


def test_an_open_dispute_holds_back_period_releases_until_resolved(env):
    store, bank = env
    card_id = buy_period(store, bank)
    with store.unit_of_work() as uow:
        commands.open_dispute(uow, "cp-1", card_id)
    scheduled_work.sweep(store=store, bank=bank, policy=POLICY, now=T0 + timedelta(days=10))
    assert queries.get_card(card_id, store=store)["released_amount"] == 0
    with store.unit_of_work() as uow:
        commands.close_dispute(uow, "cp-unrelated")
        commands.close_dispute(uow, "cp-1")
    scheduled_work.sweep(store=store, bank=bank, policy=POLICY, now=T0 + timedelta(days=12))
    card = queries.get_card(card_id, store=store)
    assert card["released_amount"] == 12_000, "the held-back days are released together"


def test_a_refund_committed_before_a_crash_reaches_the_bank_once(env, tmp_path):
    store, bank = env

    class CrashingBank(SimulatedBank):
        def refund_to_origin(self, *args):
            raise ConnectionError("the process died before the bank was asked")

    card_id = buy(store, bank)["card_id"]
    with pytest.raises(ConnectionError):
        commands.refund_card(
            card_id,
            "c-1",
            rule=None,
            store=store,
            bank=CrashingBank(tmp_path / "statements"),
            policy=POLICY,
            now=T0,
        )
    assert queries.get_card(card_id, store=store)["status"] == "refunded"
    refunds = lambda: [
        m
        for m in bank.statement(T0.date().isoformat())  # noqa: E731
        if m["kind"] == "refund"
    ]
    assert refunds() == []
    assert (
        scheduled_work.sweep(store=store, bank=bank, policy=POLICY, now=T0)[
            "bank_instructions_resent"
        ]
        == 1
    )
    assert [m["amount"] for m in refunds()] == [100_000]
    again = SimulatedBank(tmp_path / "statements", clock=lambda: T0)
    again.refund_to_origin(refunds()[0]["reference"], card_id, 100_000)
    assert len(refunds()) == 1, "the bank takes a reference once, even after a restart"
    assert (
        scheduled_work.sweep(store=store, bank=bank, policy=POLICY, now=T0)[
            "bank_instructions_resent"
        ]
        == 0
    )


def test_scheduled_work_comes_in_bounded_pages_and_disputed_cards_do_not_block_them(env):
    store, bank = env
    cards = [buy_period(store, bank, f"c-{i}", T0 + timedelta(seconds=i)) for i in range(7)]
    with store.unit_of_work() as uow:  # the three cards due first are in dispute
        for card_id in cards[:3]:
            commands.open_dispute(uow, f"cp-{card_id}", card_id)
    # Day 10: past the 7-day cooling-off window, which holds a card's days until it closes.
    day3 = T0 + timedelta(days=10, hours=1)
    page = lambda when: scheduled_work.sweep_page(
        store=store,
        bank=bank,  # noqa: E731
        policy=POLICY,
        now=when,
        budget=2,
    )
    # The ten finished days are reconciled first (a few a page): these pages count cards.
    assert daily_reconciliation.reconcile_due_days(store, bank, day3, 10) == (10, False)
    first, second = page(day3), page(day3)
    assert (first["period_releases"], first["more"]) == (2, True)
    assert (second["period_releases"], second["more"]) == (2, False)
    assert page(day3)["period_releases"] == 0
    released = [queries.get_card(c, store=store)["released_amount"] for c in cards]
    assert released == [0, 0, 0, 10_000, 10_000, 10_000, 10_000]
    day5 = day3 + timedelta(days=2)
    first, second = page(day5), page(day5)
    assert (first["more"], first["payouts"]) == (True, 0), "payouts wait for the last page"
    assert (second["more"], second["payouts"]) == (False, 1)
    assert [p["amount"] for p in queries.settlements("m-1", store=store)["items"]] == [40_000]
    schedule = [key for key, _ in store.list_views(projections.PERIOD_DUE, "", 100)]
    assert len(schedule) == 7 and all(key.split("|")[1] in cards for key in schedule)
    assert sorted(schedule)[-1].startswith((T0 + timedelta(days=13)).date().isoformat()), (
        "a released card is due again the day after"
    )

    scheduled = lambda: [
        key.split("|")[1]
        for key, _ in store.list_views(projections.PERIOD_DUE, "", 100)  # noqa: E731
    ]
    commands.refund_card(
        cards[3], "c-3", rule=None, store=store, bank=bank, policy=POLICY, now=day5
    )
    assert cards[3] not in scheduled() and len(scheduled()) == 6, "a refunded card leaves it"
    total = scheduled_work.sweep(
        store=store, bank=bank, policy=POLICY, now=T0 + timedelta(days=91), budget=2
    )
    assert total["cards_expired"] == 6 and scheduled() == [], "so does an expired one"


def test_period_cards_listed_the_old_way_join_the_schedule_and_stale_entries_go(env):
    store, bank = env
    card_id = buy_period(store, bank)
    [(key, _)] = store.list_views(projections.PERIOD_DUE, "", 10)
    with store.unit_of_work() as uow:  # as a store written before the schedule holds it
        uow.delete_view(projections.PERIOD_DUE, key)
        uow.put_view(scheduled_work.LEGACY_PERIOD_CARDS, card_id, {"card_id": card_id})
        uow.put_view(projections.PERIOD_DUE, f"{T0.isoformat()}|{card_id}", {"card_id": card_id})
    done = scheduled_work.sweep(
        store=store, bank=bank, policy=POLICY, now=T0 + timedelta(days=9, hours=1)
    )  # after cooling-off
    assert done["period_releases"] == 1
    assert queries.get_card(card_id, store=store)["released_amount"] == 9_000
    assert store.list_views(scheduled_work.LEGACY_PERIOD_CARDS, "", 10) == []
    assert [k for k, _ in store.list_views(projections.PERIOD_DUE, "", 10)] == [
        f"{(T0 + timedelta(days=10)).isoformat()}|{card_id}"
    ], "one entry, at the next day"
