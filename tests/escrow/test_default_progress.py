"""A default's progress while its refund runs: the open cards are counted when the refund
begins, and each batch moves cards_refunded toward that total (real SQLite, no nameko)."""

from __future__ import annotations

import pytest

from eventstore import ConcurrencyError
from eventstore.sqlite import SqliteEventStore
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import commands, defaults
from tests.support.escrow_cards import POLICY, T0, buy


@pytest.fixture
def env(tmp_path):
    store = SqliteEventStore(tmp_path / "escrow.db")
    bank = SimulatedBank(tmp_path / "statements", clock=lambda: T0)
    yield store, bank
    store.close()


def test_progress_between_batches_is_partial_and_ends_at_the_total(env, monkeypatch):
    store, bank = env
    monkeypatch.setattr(defaults, "DEFAULT_BATCH", 4)
    cards = [buy(store, bank, consumer=f"c-{i}")["card_id"] for i in range(10)]
    commands.refund_card(
        cards[0], None, rule="on_request", store=store, bank=bank, policy=POLICY, now=T0
    )
    assert defaults.default_progress("m-1", store=store) is None
    seen = []
    done = defaults.default_merchant(
        "m-1",
        "absconded",
        "regulator:r",
        store=store,
        bank=bank,
        policy=POLICY,
        now=T0,
        between_batches=lambda: seen.append(defaults.default_progress("m-1", store=store)),
    )
    assert [p["cards_total"] for p in seen] == [9] * len(seen), "nine were open at the start"
    refunded = [p["cards_refunded"] for p in seen]
    assert refunded == sorted(refunded) and 0 < refunded[0] < 9, refunded
    assert not any(p["finished"] for p in seen)
    final = defaults.default_progress("m-1", store=store)
    assert final is not None and final["finished"]
    assert final["cards_refunded"] == final["cards_total"] == done["cards_refunded"] == 9
    assert final["amount_refunded"] == done["amount_refunded"] > 0


def test_a_batch_lost_to_a_clash_is_counted_once_when_retried(env, monkeypatch):
    """A batch whose append clashes with a command on one of its cards is taken again; the
    progress must count the retried batch and not lose it in the batches after it."""
    store, bank = env
    monkeypatch.setattr(defaults, "DEFAULT_BATCH", 3)
    for i in range(9):
        buy(store, bank, consumer=f"c-{i}")
    real_append, calls = defaults.append_card, []

    def clash_once_in_the_second_batch(uow, card, events, metadata):
        calls.append(card.card_id)
        if len(calls) == 4:  # the second batch's first card, once
            raise ConcurrencyError(f"card-{card.card_id}", 1, 2)  # a command meanwhile
        return real_append(uow, card, events, metadata)

    monkeypatch.setattr(defaults, "append_card", clash_once_in_the_second_batch)
    done = defaults.default_merchant(
        "m-1", "absconded", "regulator:r", store=store, bank=bank, policy=POLICY, now=T0
    )
    final = defaults.default_progress("m-1", store=store)
    assert final is not None and final["finished"]
    assert done["cards_refunded"] == final["cards_refunded"] == final["cards_total"] == 9
    assert final["amount_refunded"] == done["amount_refunded"]
