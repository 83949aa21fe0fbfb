"""The escrow's scheduled work at city scale: 10,000 period cards on one SQLite store.

* A sweep when nothing is due, which shows the schedule is not scanned card by card.
* A day's releases for every card, run page by page as the demo clock and the timer run it,
  against the same per-card decisions called in a bare loop over known card ids (what the
  releases cost without the schedule and the paging). The longest page is what one RPC
  waits for, and must stay far inside the gateway's 10 s RPC timeout.
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
from services.escrow.application import commands, projections, scheduled_work
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
