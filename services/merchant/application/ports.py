"""What the merchant application needs from outside: the escrow's bulk refund of a default
and its progress, and the risk service's health code of a merchant."""

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

    def default_progress(self, merchant_id: str) -> DefaultProgress | None:
        """How far the refund of the merchant's default got; None when none began."""
        ...


class DefaultProgress(TypedDict):
    """The escrow's refund of a default: open cards when it began, and how far it got."""

    cards_total: int
    cards_refunded: int
    amount_refunded: int
    finished: bool


class HealthCode(TypedDict):
    code: str
    """green, yellow or red"""
    reasons: list[str]
    """the indicators the code gives as its reasons (e.g. "status:delisted")"""


class Risk(Protocol):
    def code_of(self, merchant_id: str) -> HealthCode | None:
        """The merchant's health code now, and why; None when not assessed yet."""
        ...
