"""The daily reconciliation over a real SQLite store and the simulated bank's statement files:
the movements view read by day, each finished day reconciled once by the scheduled work,
differences named, the reports listed newest first, and the view backfilled on a store that
had money moved before it existed."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest

from eventstore.sqlite import SqliteEventStore
from services.domain_errors import InvalidInput, NotFound
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import (
    commands,
    daily_reconciliation,
    migrations,
    reconciliation,
    scheduled_work,
    settlements,
)
from tests.support.escrow_cards import POLICY, PRODUCTS, T0

DAYS = [(T0 + timedelta(days=n)).date().isoformat() for n in range(4)]


@pytest.fixture
def env(tmp_path):
    store = SqliteEventStore(tmp_path / "escrow.db")
    now = [T0]
    bank = SimulatedBank(tmp_path / "statements", clock=lambda: now[0])
    yield store, bank, now, tmp_path / "statements"
    store.close()


def buy(store, bank, consumer, when):
    return commands.purchase_card(
        consumer, "sv", store=store, merchants=PRODUCTS, bank=bank, policy=POLICY, now=when
    )


def scanned(store, day):
    """The movements of `day` as reconciliation found them before the view: every event."""
    payments, expected = {}, Counter()
    for event in store.iter_all():
        if event.type == "escrow.CardPurchased.v1":
            payments[event.data["card_id"]] = event.data["payment_id"]
        for d, kind, ref, amount in reconciliation.movements_of(
            event.type, event.data, payments.get(event.data.get("card_id"))
        ):
            if d == day:
                expected[(kind, ref, amount)] += 1
    return expected


def three_days(store, bank, now):
    """Day 0: two cards, one refunded by cooling-off, a spend; day 1: a card and the payout of
    day 0's release; day 2: a card. Returns the cards."""
    cards = [buy(store, bank, f"c-{i}", T0)["card_id"] for i in range(2)]
    commands.refund_card(cards[1], "c-1", rule=None, store=store, bank=bank, policy=POLICY, now=T0)
    hold = commands.request_redemption(
        cards[0], "m-1", value=12_000, uses=0, store=store, policy=POLICY, now=T0
    )
    commands.confirm_redemption(hold["redemption_id"], "c-0", store=store, now=T0)
    now[0] = T0 + timedelta(days=1)
    cards.append(buy(store, bank, "c-2", now[0])["card_id"])
    assert settlements.settle(store=store, bank=bank, policy=POLICY, now=now[0])
    now[0] = T0 + timedelta(days=2)
    cards.append(buy(store, bank, "c-3", now[0])["card_id"])
    return cards


def test_the_movements_view_holds_each_day_what_a_scan_of_every_event_finds(env):
    store, bank, now, _ = env
    three_days(store, bank, now)
    for day in DAYS:
        assert reconciliation.expected_movements(store, day) == scanned(store, day)
    assert sum(reconciliation.expected_movements(store, DAYS[0]).values()) == 3
    assert {k for k, _, _ in reconciliation.expected_movements(store, DAYS[1])} == {
        "deposit",
        "payout",
    }
    assert reconciliation.earliest_day(store) == DAYS[0]


def tamper(statements, day, change):
    path = statements / f"{day}.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(line) + "\n" for line in change(lines)))


def test_each_finished_day_is_reconciled_once_with_its_differences(env):
    store, bank, now, statements = env
    three_days(store, bank, now)
    missing = next(
        line for line in bank.statement(DAYS[1]) if line["kind"] == "deposit"
    )  # the bank lost day 1's deposit
    tamper(statements, DAYS[1], lambda lines: [x for x in lines if x != missing])
    odd = {**bank.statement(DAYS[2])[0], "reference": "pay-unknown", "amount": 777}
    tamper(statements, DAYS[2], lambda lines: [*lines, odd])  # and shows an odd line on day 2

    now[0] = T0 + timedelta(days=3)
    done = scheduled_work.sweep(store=store, bank=bank, policy=POLICY, now=now[0])
    assert done["days_reconciled"] == 3, "days 0, 1 and 2; day 3 is today"

    clean = daily_reconciliation.report_of(DAYS[0], store=store)
    assert clean["status"] == "matched" and clean["differences"] == []
    assert clean["matched"] == 3 and clean["date"] == DAYS[0]
    lost = daily_reconciliation.report_of(DAYS[1], store=store)
    assert lost["status"] == "differences" and lost["matched"] == 1
    assert lost["differences"] == [
        {
            "side": "missing_at_bank",
            "kind": "deposit",
            "reference": missing["reference"],
            "amount": missing["amount"],
            "count": 1,
        }
    ]
    extra = daily_reconciliation.report_of(DAYS[2], store=store)
    assert extra["status"] == "differences" and extra["matched"] == 1
    assert extra["differences"] == [
        {
            "side": "unexpected_at_bank",
            "kind": odd["kind"],
            "reference": "pay-unknown",
            "amount": 777,
            "count": 1,
        }
    ]
    with pytest.raises(NotFound) as not_yet:
        daily_reconciliation.report_of(DAYS[3], store=store)
    assert not_yet.value.code == "not_reconciled"
    for bad in ("2026-13-01", "yesterday", "2026-1-01", "2026-11-01T00:00"):
        with pytest.raises(InvalidInput) as refused:
            daily_reconciliation.report_of(bad, store=store)
        assert refused.value.code == "invalid_date"

    events = [r for d in DAYS[:3] for r in store.read_stream(daily_reconciliation.stream(d))]
    assert [e.type for e in events] == ["escrow.ReconciliationCompleted.v1"] * 3
    assert events[1].data == {
        "day": DAYS[1],
        "status": "differences",
        "matched": 1,
        "differences": lost["differences"],
        "reconciled_at": now[0].isoformat(),
        "differences_total": 1,
    }
    assert events[2] in store.read_all(0, 1000), "in the store's log: the outbox relays it"

    # The bank's statement changes afterwards: a day is reconciled once.
    tamper(statements, DAYS[0], lambda lines: lines[1:])
    now[0] = T0 + timedelta(days=3, hours=5)
    assert (
        scheduled_work.sweep(store=store, bank=bank, policy=POLICY, now=now[0])["days_reconciled"]
        == 0
    )
    assert daily_reconciliation.report_of(DAYS[0], store=store) == clean
    assert len(store.read_stream(daily_reconciliation.stream(DAYS[0]))) == 1


def test_reports_list_newest_first_a_page_at_a_time(env):
    store, bank, now, _ = env
    three_days(store, bank, now)
    daily_reconciliation.reconcile_due_days(store, bank, T0 + timedelta(days=3))
    first = daily_reconciliation.reports(store=store, limit=2)
    assert [r["date"] for r in first["items"]] == [DAYS[2], DAYS[1]]
    rest = daily_reconciliation.reports(store=store, after=first["next_after"], limit=2)
    assert [r["date"] for r in rest["items"]] == [DAYS[0]] and rest["next_after"] is None


def test_a_page_reconciles_a_bounded_number_of_days_and_the_next_goes_on(env):
    store, bank, now, _ = env
    three_days(store, bank, now)
    later = T0 + timedelta(days=3)
    assert daily_reconciliation.reconcile_due_days(store, bank, later, budget=2) == (2, True)
    assert daily_reconciliation.reconcile_due_days(store, bank, later, budget=2) == (1, False)
    assert daily_reconciliation.reconcile_due_days(store, bank, later, budget=2) == (0, False)
    page = scheduled_work.sweep_page(store=store, bank=bank, policy=POLICY, now=later, budget=1)
    assert page["days_reconciled"] == 0 and page["more"] is False


def test_a_day_a_racing_run_reconciled_first_is_not_reconciled_again(env):
    store, bank, now, _ = env
    three_days(store, bank, now)
    at = T0 + timedelta(days=3)
    assert daily_reconciliation.reconcile_day(store, bank, DAYS[0], at) is not None
    assert daily_reconciliation.reconcile_day(store, bank, DAYS[0], at) is None
    assert len(store.read_stream(daily_reconciliation.stream(DAYS[0]))) == 1


def test_an_empty_escrow_has_nothing_to_reconcile(env):
    store, bank, _, _ = env
    assert daily_reconciliation.reconcile_due_days(store, bank, T0) == (0, False)
    assert daily_reconciliation.reports(store=store) == {"items": [], "next_after": None}


def test_a_store_from_before_the_view_is_backfilled_once(env):
    store, bank, now, _ = env
    three_days(store, bank, now)
    written = store.list_views(reconciliation.MOVEMENTS, "", 1000)
    before = {d: reconciliation.reconcile(d, bank.statement(d), store=store) for d in DAYS}
    with store.unit_of_work() as uow:  # the store as the code before the view left it
        for key, _ in written:
            uow.delete_view(reconciliation.MOVEMENTS, key)
    assert reconciliation.expected_movements(store, DAYS[0]) == Counter()

    assert migrations.backfill_bank_movements(store, page=2) == len(written) > 0
    assert store.list_views(reconciliation.MOVEMENTS, "", 1000) == written
    assert {d: reconciliation.reconcile(d, bank.statement(d), store=store) for d in DAYS} == before
    assert before[DAYS[0]]["missing_at_bank"] == [] and before[DAYS[0]]["matched"] == 3

    with store.unit_of_work() as uow:
        uow.delete_view(reconciliation.MOVEMENTS, written[0][0])
    assert migrations.backfill_bank_movements(store) == 0, "the marker says it was done"
    assert len(store.list_views(reconciliation.MOVEMENTS, "", 1000)) == len(written) - 1


def test_a_statement_wildly_unlike_the_escrow_lists_a_bounded_number_of_differences(
    env, monkeypatch
):
    """A lost statement makes one difference per movement: the report and its event list a
    bounded number and count them all, so the event still fits the broker's frame."""
    store, bank, now, statements = env
    monkeypatch.setattr(daily_reconciliation, "LISTED_DIFFERENCES", 3)
    for i in range(5):
        buy(store, bank, f"c-{i}", T0)
    tamper(statements, DAYS[0], lambda lines: [])  # the bank sent nothing for the day
    report = daily_reconciliation.reconcile_day(store, bank, DAYS[0], T0 + timedelta(days=1))
    assert report is not None and report["status"] == "differences"
    assert len(report["differences"]) == 3 and report["differences_total"] == 5
    [event] = store.read_stream(daily_reconciliation.stream(DAYS[0]))
    assert event.data["differences_total"] == 5 and len(event.data["differences"]) == 3
