"""What the merchant application needs from outside: the escrow's bulk refund of a default."""

from __future__ import annotations

from typing import Protocol, TypedDict


class DefaultRefunds(TypedDict):
    """Totals over every card a merchant's default has refunded so far."""

    cards_refunded: int
    amount_refunded: int


class Escrow(Protocol):
    def refund_defaulted_merchant(
        self, merchant_id: str, reason: str, declared_by: str, metadata: dict | None
    ) -> DefaultRefunds:
        """Refunds every open card of a defaulted merchant from escrow. Resumable and never
        twice: a repeat refunds what is left and answers the totals."""
        ...
