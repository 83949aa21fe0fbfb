"""The object-level rules of services/gateway/access.py, rule by rule: who sees which card,
complaint, receipt and merchant-scoped data, and that whoever may not see an object gets the
unknown id's 404, never a 403."""

from __future__ import annotations

import pytest

from services.gateway import access
from services.gateway.auth import Principal
from services.gateway.errors import ApiError

CONSUMER_A, CONSUMER_B = Principal("consumer", "c-a"), Principal("consumer", "c-b")
MERCHANT_X, MERCHANT_Y = Principal("merchant", "m-x"), Principal("merchant", "m-y")
REGULATOR, BANK = Principal("regulator", "r-1"), Principal("bank", "b-1")
OPERATOR = Principal("operator", "o-1")
CARD = {"card_id": "card-1", "consumer_id": "c-a", "merchant_id": "m-x"}
COMPLAINT = {"complaint_id": "cp-1", "consumer_id": "c-a", "merchant_id": "m-x"}


def _hidden(call, message: str) -> None:
    with pytest.raises(ApiError) as refused:
        call()
    assert (
        refused.value.status,
        refused.value.code,
        refused.value.message,
        refused.value.details,
    ) == (404, "not_found", message, {})


@pytest.mark.parametrize("caller", [CONSUMER_A, MERCHANT_X, REGULATOR])
def test_a_card_is_seen_by_its_consumer_its_merchant_and_regulators(caller):
    assert access.visible_card(caller, "card-1", CARD) is CARD


@pytest.mark.parametrize("caller", [CONSUMER_B, MERCHANT_Y, BANK, OPERATOR])
def test_anyone_else_is_told_the_card_does_not_exist(caller):
    _hidden(lambda: access.visible_card(caller, "card-1", CARD), "no card card-1")


def test_a_complaint_names_only_the_consumers_own_card_at_that_merchant():
    assert access.own_card_at("c-a", "card-1", CARD, "m-x") is CARD
    _hidden(lambda: access.own_card_at("c-b", "card-1", CARD, "m-x"), "no card card-1")
    _hidden(lambda: access.own_card_at("c-a", "card-1", CARD, "m-y"), "no card card-1")


@pytest.mark.parametrize("caller", [CONSUMER_A, MERCHANT_X, REGULATOR])
def test_a_complaint_is_seen_by_its_consumer_its_merchant_and_regulators(caller):
    assert access.visible_complaint(caller, "cp-1", COMPLAINT) is COMPLAINT


@pytest.mark.parametrize("caller", [CONSUMER_B, MERCHANT_Y])
def test_another_consumer_or_merchant_is_told_the_complaint_does_not_exist(caller):
    _hidden(lambda: access.visible_complaint(caller, "cp-1", COMPLAINT), "no complaint cp-1")


def test_a_merchant_sees_only_its_own_merchant_scoped_data_other_roles_any():
    access.only_itself(MERCHANT_X, "m-x")
    for caller in (REGULATOR, BANK, OPERATOR):
        access.only_itself(caller, "m-x")
    _hidden(lambda: access.only_itself(MERCHANT_Y, "m-x"), "no merchant m-x")


def test_the_money_figures_of_a_health_code_are_for_regulators_and_the_merchant_itself():
    assert access.sees_merchant_money(REGULATOR, "m-x")
    assert access.sees_merchant_money(MERCHANT_X, "m-x")
    for caller in (None, MERCHANT_Y, CONSUMER_A, BANK, OPERATOR):
        assert not access.sees_merchant_money(caller, "m-x")


def test_only_the_merchant_itself_is_its_owner():
    assert access.is_merchant_itself(MERCHANT_X, "m-x")
    assert not any(
        access.is_merchant_itself(c, "m-x")
        for c in (None, MERCHANT_Y, Principal("consumer", "m-x"), REGULATOR)
    )


def _receipt(
    consumer_is_party: bool = False, merchant_id: str = "m-x", card_id: str | None = None
) -> dict:
    parties = {"merchant_id": merchant_id} | ({"card_id": card_id} if card_id else {})
    return {
        "event_id": "e-1",
        "proof": [],
        "consumer_is_party": consumer_is_party,
        "parties": parties,
    }


class Cards:
    """The escrow's cards as the receipt rule asks for them, counting the questions."""

    def __init__(self, *cards: dict):
        self.cards = {card["card_id"]: card for card in cards}
        self.asked: list[str] = []

    def __call__(self, card_id: str) -> dict | None:
        self.asked.append(card_id)
        return self.cards.get(card_id)


@pytest.mark.parametrize(
    ("caller", "found"),
    [
        (REGULATOR, _receipt(card_id="card-1")),
        (BANK, _receipt(card_id="card-1")),
        (MERCHANT_X, _receipt(card_id="card-1")),
        (CONSUMER_A, _receipt(consumer_is_party=True, card_id="card-1")),
    ],
)
def test_a_receipt_is_seen_by_the_events_parties_and_auditors_without_the_parties(caller, found):
    cards = Cards(CARD)
    assert access.visible_receipt(caller, found, cards) == {"event_id": "e-1", "proof": []}
    assert cards.asked == [], "the entry already names them: no card is looked up"


def test_the_owner_of_the_card_an_entry_names_sees_its_receipt():
    """A deposit, a hold or a release names the card and its merchant, not the consumer."""
    cards = Cards(CARD)
    found = _receipt(card_id="card-1")
    assert access.visible_receipt(CONSUMER_A, found, cards) == {"event_id": "e-1", "proof": []}
    assert cards.asked == ["card-1"]


@pytest.mark.parametrize(
    ("caller", "found"),
    [
        (MERCHANT_Y, _receipt()),
        (MERCHANT_Y, _receipt(card_id="card-1")),
        (CONSUMER_B, _receipt()),
        (CONSUMER_B, _receipt(card_id="card-1")),
        (CONSUMER_A, _receipt(card_id="card-unknown")),
        (CONSUMER_A, _receipt(card_id="card-of-b")),
        (OPERATOR, _receipt(card_id="card-1")),
        (REGULATOR, None),
        (CONSUMER_A, None),
    ],
)
def test_a_receipt_of_someone_elses_event_is_as_absent_as_an_unknown_one(caller, found):
    cards = Cards(CARD, {**CARD, "card_id": "card-of-b", "consumer_id": "c-b"})
    _hidden(
        lambda: access.visible_receipt(caller, found, cards),
        "no notarised event with that id for you",
    )
    if caller.role != "consumer":
        assert cards.asked == [], "only a consumer's ownership of a card is looked up"


def test_services_limit_answers_to_the_calling_consumer_only():
    assert access.consumer_scope(CONSUMER_A) == "c-a"
    assert access.consumer_scope(REGULATOR) is None
    assert access.consumer_scope(MERCHANT_X) is None
