"""What each published event tells the risk service about a merchant.

The merchant and escrow services publish their events; this folds each one into the
merchant's `MerchantFigures`, at the event's own time (the domain timestamp it carries, so a
replay months later lands in the same days). Every fold is a sum or a set change, so the
figures do not depend on the order events arrive in.
"""

from __future__ import annotations

from services.risk.domain.indicators import MerchantFigures

TIME_FIELDS = (
    "confirmed_at",
    "released_at",
    "refunded_at",
    "filed_at",
    "resolved_at",
    "escalated_at",
    "responded_at",
    "requested_at",
    "ruled_at",
    "purchased_at",
)

RELEVANT = (
    "merchant.MerchantApplied.v1",
    "merchant.MerchantApproved.v1",
    "merchant.MerchantFlagSet.v1",
    "merchant.MerchantStatusChanged.v1",
    "merchant.ProductCreated.v1",
    "merchant.PromotionCreated.v1",
    "escrow.CardPurchased.v1",
    "escrow.DepositConfirmed.v1",
    "escrow.RedemptionConfirmed.v1",
    "escrow.FundsReleased.v1",
    "escrow.CardRefunded.v1",
    "risk.ComplaintFiled.v1",
    "risk.ComplaintResolved.v1",
    "risk.ComplaintRuledUnfounded.v1",
)
"""The event types that move a merchant's indicators or tell who its customers are (a card
purchase joined with its deposit), and so trigger an evaluation; and the application, which
names the merchant and its industry for the city's figures (no evaluation)."""

FINAL_STATUSES = ("closed", "defaulted")
# The refund rate counts the refunds consumers asked for. A card that lapsed (most often a
# period card fully served, refunding nothing) says nothing against its merchant, and a
# default is judged on its own.
ASKED_FOR = ("on_request", "cooling_off")


def event_time(data: dict, recorded_at: str) -> str:
    return next((data[name] for name in TIME_FIELDS if data.get(name)), recorded_at)


def observe(figures: MerchantFigures, event_type: str, data: dict, at: str) -> bool:
    """Folds one event in; False when the event says nothing the indicators use."""
    kind = event_type.rsplit(".", 2)[-2] if event_type.count(".") >= 2 else event_type
    if kind == "MerchantApproved":
        figures.first_seen = min(filter(None, (figures.first_seen, at)))
    elif kind == "MerchantFlagSet":
        (figures.flags.add if data["on"] else figures.flags.discard)(data["flag"])
    elif kind == "MerchantStatusChanged":
        if figures.status not in FINAL_STATUSES:  # a late "delisted" cannot undo a default
            figures.status = data["status"]
    elif kind == "ProductCreated":
        if data["type"] == "stored_value" and data["price"] > 0:
            figures.product_prices[data["product_id"]] = data["price"]
            figures.bonus_percent[data["product_id"]] = data["bonus"] * 100 // data["price"]
    elif kind == "PromotionCreated":
        # A promotion's bonus is an offer on the product; the most generous one counts.
        price = figures.product_prices.get(data["product_id"])
        if price:
            figures.bonus_percent[data["product_id"]] = max(
                figures.bonus_percent[data["product_id"]], data["bonus"] * 100 // price
            )
    elif kind == "DepositConfirmed":
        figures.add(at, "issued_amount", data["amount"])
        figures.add(at, "issued_cards")
        figures.deposited += data["amount"]
        figures.upfront += data["upfront_amount"]
        figures.open_cards += 1
    elif kind in ("RedemptionConfirmed", "FundsReleased"):
        figures.add(at, "redeemed_amount", data["released_amount"])
        figures.released += data["released_amount"]
        if kind == "RedemptionConfirmed":
            figures.last_redemption = max(filter(None, (figures.last_redemption, at)))
    elif kind == "CardRefunded":
        if data["rule"] in ASKED_FOR:
            figures.add(at, "refunded_cards")
        figures.refunded += data["refund_amount"]
        figures.open_cards -= 1
    elif kind == "ComplaintFiled":
        figures.complaints_opened[data["complaint_id"]] = at
        figures.complaint_consumers[data["complaint_id"]] = data["consumer_id"]
        figures.open_complaints.add(data["complaint_id"])
    elif kind == "ComplaintResolved":
        figures.open_complaints.discard(data["complaint_id"])
    elif kind == "ComplaintRuledUnfounded":
        figures.unfounded_complaints.add(data["complaint_id"])
        figures.open_complaints.discard(data["complaint_id"])
    else:
        return False
    return True
