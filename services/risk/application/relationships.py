"""Who is a merchant's customer, as the risk service learns it from the escrow's events.

A consumer is a customer of a merchant once a card they bought there is paid for (the card's
purchase, which names the consumer, joined with its deposit, which confirms the money), or
once they confirm a spend there. Only customers' complaints count toward the complaint rate
and the surge. The join does not depend on the order the two events arrive in: whichever
comes second writes the relationship.

Views, in the risk store: `risk_cards` (card id -> its consumer and merchant, and whether it
is paid; removed once joined) and `risk_customers` ("merchant/consumer" -> since when).
"""

from __future__ import annotations

CARDS, CUSTOMERS = "risk_cards", "risk_customers"


def _customer_key(merchant_id: str, consumer_id: str) -> str:
    return f"{merchant_id}/{consumer_id}"


def _relate(uow, merchant_id: str, consumer_id: str, at: str) -> None:
    key = _customer_key(merchant_id, consumer_id)
    if uow.get_view(CUSTOMERS, key) is None:
        uow.put_view(
            CUSTOMERS, key, {"merchant_id": merchant_id, "consumer_id": consumer_id, "since": at}
        )


def note(uow, event_type: str, data: dict, at: str) -> None:
    """Records what an escrow event says about who is whose customer."""
    kind = event_type.rsplit(".", 2)[-2] if event_type.count(".") >= 2 else event_type
    if kind in ("RedemptionConfirmed", "CardRefunded") and data.get("consumer_id"):
        _relate(uow, data["merchant_id"], data["consumer_id"], at)
    elif kind in ("CardPurchased", "DepositConfirmed"):
        card = uow.get_view(CARDS, data["card_id"]) or {}
        if kind == "CardPurchased":
            card.update(consumer_id=data["consumer_id"], merchant_id=data["merchant_id"])
        else:
            card["paid"] = True
        if card.get("paid") and card.get("consumer_id"):
            _relate(uow, card["merchant_id"], card["consumer_id"], at)
            uow.delete_view(CARDS, data["card_id"])
        else:
            uow.put_view(CARDS, data["card_id"], card)


def customers_among(uow, merchant_id: str, consumers: set[str]) -> set[str]:
    """Those of `consumers` who are customers of the merchant."""
    return {
        c for c in consumers if uow.get_view(CUSTOMERS, _customer_key(merchant_id, c)) is not None
    }
