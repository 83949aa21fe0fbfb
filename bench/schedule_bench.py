"""The escrow's scheduled work at city scale: 10,000 period cards on one SQLite store.

* A sweep when nothing is due, which shows the schedule is not scanned card by card.
* A day's releases for every card, run page by page as the demo clock and the timer run it,
  against the same per-card decisions called in a bare loop over known card ids (what the
  releases cost without the schedule and the paging). The longest page is what one RPC
  waits for, and must stay far inside the gateway's 10 s RPC timeout.
* Reconciling one day with the bank: the day's movements read from their view by the day's
  prefix, against the scan of every event of the store that reconciliation did before the
  view; and the scheduled work reconciling the day of every purchase once it has ended.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import (
    commands,
    daily_reconciliation,
    projections,
    reconciliation,
    scheduled_work,
)
from services.escrow.application.store import decide
from services.escrow.domain import releases

CARDS = 10_000
T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


class Products:
    def product_for_sale(self, product_id: str) -> dict:
        return {
            "merchant_id": f"m-{product_id}",
            "type": "period",
            "price": 90_000,
            "bonus": 0,
            "uses": 0,
            "validity_days": 0,
            "period_days": 90,
        }


def _cards(store, bank, policy, count: int, first: int) -> list[str]:
    return [
        commands.purchase_card(
            f"c-{i}",
            str(i % 300),
            store=store,
            merchants=Products(),
            bank=bank,
            policy=policy,
            now=T0,
        )["card_id"]
        for i in range(first, first + count)
    ]


def _scanned(store, day: str) -> int:
    """The movements of `day` found as before the view: a scan of every event."""
    payments: dict[str, str] = {}
    found = 0
    for event in store.iter_all():
        if event.type == "escrow.CardPurchased.v1":
            payments[event.data["card_id"]] = event.data["payment_id"]
        if event.type in reconciliation.MOVING_EVENTS:
            moved = reconciliation.movements_of(
                event.type, event.data, payments.get(event.data.get("card_id") or "")
            )
            found += sum(1 for d, *_ in moved if d == day)
    return found


def _reconciliation(report, store, bank, now) -> None:
    """The day of every purchase, reconciled once it has ended; a quiet day by its prefix
    against the scan of every event."""
    quiet = (T0 + timedelta(days=1)).date().isoformat()
    started = time.perf_counter()
    reconciliation.reconcile(quiet, bank.statement(quiet), store=store)
    by_view = time.perf_counter() - started
    started = time.perf_counter()
    _scanned(store, quiet)
    by_scan = time.perf_counter() - started
    report(
        "reconcile a quiet day, 20k cards in the store",
        1 / by_view,
        1 / by_scan,
        "days/s",
        baseline="a scan of every event",
        target=10,
    )
    pages, longest, days = 0, 0.0, 0
    while True:
        started = time.perf_counter()
        done, left = daily_reconciliation.reconcile_due_days(store, bank, now)
        longest = max(longest, time.perf_counter() - started)
        pages, days = pages + 1, days + done
        if not left:
            break
    report(
        f"reconcile the day of {2 * CARDS:,} deposits ({days} day, {pages} page)",
        longest * 1000,
        None,
        "ms",
        absolute_target=2000,
        lower_is_better=True,
    )
    busy = daily_reconciliation.report_of(T0.date().isoformat(), store=store)
    if busy["status"] != "matched" or busy["matched"] != 2 * CARDS:
        report.failures.append(f"schedule: the busy day reconciled as {busy['status']}")


def run(report) -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-schedule-"))
    store = SqliteEventStore(base / "escrow.db")
    bank, policy = SimulatedBank(base / "bank", clock=lambda: T0), load_policy()
    try:
        started = time.perf_counter()
        _cards(store, bank, policy, CARDS, 0)
        bare = _cards(store, bank, policy, CARDS, CARDS)
        outside = set(bare)
        print(
            f"  {2 * CARDS:,} period cards bought in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        with store.unit_of_work() as uow:  # the bare loop's cards leave the schedule
            for key, _ in store.list_views(projections.PERIOD_DUE, "", 2 * CARDS):
                if key.split("|")[1] in outside:
                    uow.delete_view(projections.PERIOD_DUE, key)

        # The purchase day has ended: it is reconciled first, and then nothing is due.
        _reconciliation(report, store, bank, T0 + timedelta(hours=23))
        started = time.perf_counter()
        idle = scheduled_work.sweep(
            store=store, bank=bank, policy=policy, now=T0 + timedelta(hours=23)
        )
        report(
            "sweep with nothing due, 10k cards scheduled",
            (time.perf_counter() - started) * 1000,
            None,
            "ms",
            absolute_target=100,
            lower_is_better=True,
        )

        # The first day due after the cooling-off window, which holds a card's days till then.
        day = T0 + timedelta(days=policy.refunds.cooling_off_days + 1, hours=1)
        started = time.perf_counter()
        for card_id in bare:
            decide(store, card_id, lambda c: releases.release_due(c, day, disputed=False))
        bare_rate = CARDS / (time.perf_counter() - started)

        pages, longest, released = 0, 0.0, 0
        started = time.perf_counter()
        while True:
            page_started = time.perf_counter()
            page = scheduled_work.sweep_page(store=store, bank=bank, policy=policy, now=day)
            longest = max(longest, time.perf_counter() - page_started)
            pages, released = pages + 1, released + page["period_releases"]
            if not page["more"]:
                break
        rate = released / (time.perf_counter() - started)
        report(
            "a day's period releases, paged sweep",
            rate,
            bare_rate,
            "/s",
            baseline="the same decisions in a bare loop",
            target=0.8,
        )
        report(
            f"  longest of {pages} pages (one RPC's wait)",
            longest * 1000,
            None,
            "ms",
            absolute_target=2000,
            lower_is_better=True,
        )
        if idle["period_releases"] or released != CARDS:
            report.failures.append(f"schedule: {released:,} releases for {CARDS:,} cards")
    finally:
        store.close()
        shutil.rmtree(base, ignore_errors=True)
