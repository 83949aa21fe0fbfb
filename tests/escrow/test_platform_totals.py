"""The platform's money totals: one view row kept with the merchants' figures, which the
escrow's /metrics reads (services/escrow/metrics.py), and its one-time backfill."""

from __future__ import annotations

import threading

import pytest

from eventstore.sqlite import SqliteEventStore
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import migrations, queries
from services.escrow.application.projections import MERCHANT_STATS, PLATFORM_KEY, PLATFORM_TOTALS
from services.escrow.domain import stats
from services.escrow.metrics import money_figures
from tests.support.escrow_cards import T0, buy

PRICES = {"sv": 100_000, "count": 80_000}


@pytest.fixture
def env(tmp_path):
    store = SqliteEventStore(tmp_path / "escrow.db")
    yield store, SimulatedBank(tmp_path / "statements", clock=lambda: T0)
    store.close()


def merchants_summed(store) -> dict[str, int]:
    rows = store.list_views(MERCHANT_STATS, "", 500)
    return {name: sum(doc[name] for _, doc in rows) for name in stats.FIGURES}


def test_the_totals_row_is_the_merchants_figures_summed(env):
    store, bank = env
    buy(store, bank, "c-1", "sv")
    buy(store, bank, "c-2", "count")
    totals = queries.platform_totals(store=store)
    assert {name: totals[name] for name in stats.FIGURES} == merchants_summed(store)
    assert totals["escrow_held"] == sum(PRICES.values()) and totals["cards_issued"] == 2


def test_the_metrics_read_the_row_by_state(env):
    store, bank = env
    buy(store, bank, "c-1", "sv")
    families = {f.name: f for f in money_figures(store)}
    money = {s.labels["state"]: s.value for s in families["prepaid_escrow_money_fen"].samples}
    assert money["held"] == money["deposited"] == 100_000
    assert money["released"] == money["refunded"] == 0
    cards = {s.labels["state"]: s.value for s in families["prepaid_escrow_cards"].samples}
    assert cards == {"issued": 1, "open": 1, "refunded": 0}


def test_the_backfill_sums_what_was_there_once(env):
    store, bank = env
    buy(store, bank, "c-1", "sv")
    buy(store, bank, "c-2", "count")
    with store.unit_of_work() as uow:  # a store from before the row: nothing kept there
        uow.put_view(PLATFORM_TOTALS, PLATFORM_KEY, stats.empty(""))
    assert migrations.backfill_platform_totals(store, page=1) is True
    totals = queries.platform_totals(store=store)
    assert {name: totals[name] for name in stats.FIGURES} == merchants_summed(store)
    with store.unit_of_work() as uow:
        uow.put_view(PLATFORM_TOTALS, PLATFORM_KEY, stats.empty(""))
    assert migrations.backfill_platform_totals(store) is False, "done once"
    assert queries.platform_totals(store=store)["escrow_held"] == 0


def test_a_backfill_racing_commands_ends_with_the_merchants_sum(env, monkeypatch):
    """Purchases committed while the backfill sums the merchants' rows are not lost: the
    fill holds the store's write lock, so each waits and then adds to the filled row."""
    store, bank = env
    for n in range(3):
        buy(store, bank, f"c-{n}", "sv")
    with store.unit_of_work() as uow:  # a store from before the row
        uow.put_view(PLATFORM_TOTALS, PLATFORM_KEY, stats.empty(""))
    listed = store.list_views
    racers: list[threading.Thread] = []

    def list_views_while_a_purchase_commits(*args, **kwargs):
        page = listed(*args, **kwargs)
        if len(racers) < 3:
            racer = threading.Thread(target=buy, args=(store, bank, f"r-{len(racers)}", "count"))
            racers.append(racer)
            racer.start()
            racer.join(timeout=0.5)  # done at once unless the fill holds the write lock
        return page

    monkeypatch.setattr(store, "list_views", list_views_while_a_purchase_commits)
    assert migrations.backfill_platform_totals(store, page=1) is True
    for racer in racers:
        racer.join(timeout=10)
        assert not racer.is_alive()
    monkeypatch.undo()
    assert racers, "a purchase raced the fill"
    totals = queries.platform_totals(store=store)
    summed = merchants_summed(store)
    assert summed["cards_issued"] == 3 + len(racers)
    assert {name: totals[name] for name in stats.FIGURES} == summed
