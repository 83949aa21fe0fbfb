"""What time earns the merchant: a period card's elapsed days at settlement cycles, and an
up-front share held through cooling-off once the window closes.
"""

from __future__ import annotations

from datetime import datetime

from services.escrow.domain.card import Card
from services.escrow.domain.events import FundsReleased


def release_due(card: Card, now: datetime, *, disputed: bool) -> list:
    """What time has earned the merchant: a period card's elapsed days, and the up-front
    share once cooling-off is over. Nothing while the window holds the card's money, and
    nothing of a card in dispute."""
    if card.status != "active" or disputed or card.cooling_off_holds_money(now):
        return []
    if card.purchase.card_type == "period":
        days = card.days_elapsed(now)
        if days <= card.days_released:
            return []
        return [
            FundsReleased(
                card.card_id,
                card.purchase.merchant_id,
                card.due(days=days),
                "period_elapsed",
                days,
                now.isoformat(),
            )
        ]
    share = card.due()
    if not share:
        return []
    return [
        FundsReleased(
            card.card_id, card.purchase.merchant_id, share, "cooling_off_ended", 0, now.isoformat()
        )
    ]
