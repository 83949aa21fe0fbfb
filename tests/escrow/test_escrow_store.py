"""The card store on a real SQLite store: load, decide and commit, and the escrow's retry
policy when another writer keeps winning the race for a card."""

from __future__ import annotations

import pytest

from eventstore.sqlite import SqliteEventStore
from services.domain_errors import Conflict, NotFound
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import queries
from services.escrow.application.store import CARD_RETRY, commit, decide, load_card
from services.escrow.domain import redemptions
from services.escrow.domain.card import Card
from tests.support.escrow_cards import T0, buy


@pytest.fixture
def env(tmp_path):
    store = SqliteEventStore(tmp_path / "escrow.db")
    yield store, SimulatedBank(tmp_path / "statements", clock=lambda: T0)
    store.close()


def hold(card: Card, redemption_id: str) -> list:
    return redemptions.request_redemption(card, redemption_id, value=1, now=T0, hold_minutes=15)


def test_a_card_never_bought_is_not_found(env):
    store, _ = env
    with pytest.raises(NotFound):
        load_card(store, "card-none")
    with pytest.raises(NotFound):
        Card("card-none").purchase  # noqa: B018 - the property raises


def test_a_decision_that_lost_a_race_is_taken_again_on_the_fresh_card(env):
    store, bank = env
    card_id = buy(store, bank)["card_id"]
    seen: list[int] = []

    def decision(card: Card) -> list:
        seen.append(card.version)
        if len(seen) == 1:  # another command commits on the card meanwhile
            rival = load_card(store, card_id)
            commit(store, rival, hold(rival, "red-rival"), {})
        return hold(card, "red-mine")

    done = decide(store, card_id, decision, {"by": "test"})
    assert seen == [seen[0], seen[0] + 1], "decided again on the card with the rival's event"
    assert set(done.card.holds) == {"red-rival", "red-mine"}
    assert (
        len(done.event_ids) == 1
        and [r.type for r in done.history][-1] == "escrow.RedemptionRequested.v1"
    )
    assert queries.get_card(card_id, store=store)["balance"] == {"value": 120_000}


def test_a_card_that_stays_too_busy_answers_409_card_busy(env):
    store, bank = env
    card_id = buy(store, bank)["card_id"]
    attempts = []

    def always_loses(card: Card) -> list:
        attempts.append(card.version)
        rival = load_card(store, card_id)
        commit(store, rival, hold(rival, f"red-rival-{len(attempts)}"), {})
        return hold(card, "red-mine")

    with pytest.raises(Conflict) as busy:
        decide(store, card_id, always_loses)
    assert (busy.value.code, len(attempts)) == ("card_busy", CARD_RETRY.attempts)
    assert "red-mine" not in load_card(store, card_id).holds
