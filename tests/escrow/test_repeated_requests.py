"""A request executed twice under one identity decides once: what a redelivered RPC (its
replica killed before the ack) or a client's retry after a 5xx (same Idempotency-Key) does."""

from __future__ import annotations

import threading

import pytest

from eventstore.sqlite import SqliteEventStore
from services.domain_errors import BusinessRuleViolation, Conflict
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import commands, queries
from services.escrow.application.store import card_stream
from tests.support.escrow_cards import POLICY, PRODUCTS, T0, buy


@pytest.fixture
def env(tmp_path):
    store = SqliteEventStore(tmp_path / "escrow.db", pool_size=20)
    bank = SimulatedBank(tmp_path / "statements", clock=lambda: T0)
    yield store, bank
    store.close()


def _types(store, card_id: str) -> list[str]:
    return [r.type for r in store.read_stream(card_stream(card_id))]


def _request(store, card_id: str, value: int = 30_000, request_id: str | None = "rq-1") -> dict:
    return commands.request_redemption(
        card_id,
        "m-1",
        value=value,
        uses=0,
        store=store,
        policy=POLICY,
        now=T0,
        request_id=request_id,
    )


def test_a_redemption_requested_twice_under_one_identity_is_held_once(env):
    store, bank = env
    card_id = buy(store, bank)["card_id"]
    first = _request(store, card_id)
    again = _request(store, card_id)
    assert again == first
    assert _types(store, card_id).count("escrow.RedemptionRequested.v1") == 1
    assert queries.get_card(card_id, store=store)["balance"] == {"value": 120_000}
    held = store.get_view("redemptions", first["redemption_id"])
    assert held is not None and held["card_id"] == card_id


def test_racing_executions_of_one_request_hold_once(env):
    store, bank = env
    card_id = buy(store, bank)["card_id"]
    answers: list[dict] = []
    threads = [
        threading.Thread(target=lambda: answers.append(_request(store, card_id))) for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 6 and all(a == answers[0] for a in answers)
    assert _types(store, card_id).count("escrow.RedemptionRequested.v1") == 1


def test_other_identities_or_none_are_separate_holds(env):
    store, bank = env
    card_id = buy(store, bank)["card_id"]
    ids = {
        _request(store, card_id, 10_000, "rq-1")["redemption_id"],
        _request(store, card_id, 10_000, "rq-2")["redemption_id"],
        _request(store, card_id, 10_000, None)["redemption_id"],
        _request(store, card_id, 10_000, None)["redemption_id"],
    }
    assert len(ids) == 4
    assert _types(store, card_id).count("escrow.RedemptionRequested.v1") == 4


def test_one_identity_on_another_card_is_another_hold(env):
    store, bank = env
    first = buy(store, bank)["card_id"]
    second = buy(store, bank)["card_id"]
    assert _request(store, first)["redemption_id"] != _request(store, second)["redemption_id"]


def test_one_identity_asking_another_amount_is_refused(env):
    store, bank = env
    card_id = buy(store, bank)["card_id"]
    _request(store, card_id, 30_000)
    with pytest.raises(BusinessRuleViolation) as refused:
        _request(store, card_id, 40_000)
    assert refused.value.code == "idempotency_key_reused"
    assert _types(store, card_id).count("escrow.RedemptionRequested.v1") == 1


def test_a_repeat_after_the_hold_was_confirmed_answers_as_first(env):
    store, bank = env
    card_id = buy(store, bank)["card_id"]
    first = _request(store, card_id)
    commands.confirm_redemption(first["redemption_id"], "c-1", store=store, now=T0)
    assert _request(store, card_id) == first
    assert _types(store, card_id).count("escrow.RedemptionRequested.v1") == 1


def _purchase(store, bank, request_id: str | None = "rq-buy", product: str = "sv") -> dict:
    return commands.purchase_card(
        "c-1",
        product,
        store=store,
        merchants=PRODUCTS,
        bank=bank,
        policy=POLICY,
        now=T0,
        request_id=request_id,
    )


def test_a_purchase_executed_twice_under_one_identity_buys_one_card(env):
    store, bank = env
    first = _purchase(store, bank)
    assert _purchase(store, bank) == first
    assert [c["card_id"] for c in queries.consumer_cards("c-1", store=store)["items"]] == [
        first["card_id"]
    ]
    assert [m["kind"] for m in bank.statement(T0.date().isoformat())] == ["deposit"]
    assert _purchase(store, bank, "rq-other")["card_id"] != first["card_id"]


def test_racing_executions_of_one_purchase_buy_one_card(env):
    store, bank = env
    answers: list[dict] = []
    threads = [
        threading.Thread(target=lambda: answers.append(_purchase(store, bank))) for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 6 and all(a == answers[0] for a in answers)
    assert len(queries.consumer_cards("c-1", store=store)["items"]) == 1


def test_a_purchase_identity_reused_for_another_product_is_refused(env):
    store, bank = env
    _purchase(store, bank)
    with pytest.raises(BusinessRuleViolation) as refused:
        _purchase(store, bank, product="count")
    assert refused.value.code == "idempotency_key_reused"


def test_a_refund_executed_twice_under_one_identity_answers_as_first(env):
    store, bank = env
    card_id = buy(store, bank)["card_id"]

    def refund(request_id: str | None) -> dict:
        return commands.refund_card(
            card_id,
            "c-1",
            rule=None,
            store=store,
            bank=bank,
            policy=POLICY,
            now=T0,
            request_id=request_id,
        )

    first = refund("rq-refund")
    assert refund("rq-refund") == first
    with pytest.raises(Conflict):
        refund("rq-another")  # a new request for a refunded card is still refused
    assert _types(store, card_id).count("escrow.CardRefunded.v1") == 1
