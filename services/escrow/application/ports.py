"""What the escrow application needs from outside: the bank and the merchant service."""

from __future__ import annotations

from typing import Protocol


class Bank(Protocol):
    def request_deposit(self, payment_id: str, card_id: str, amount: int) -> bool:
        """Asks the consumer's bank for the money; True when it is confirmed at once."""

    def refund_to_origin(self, payment_id: str, card_id: str, amount: int) -> None:
        """Returns money by the original route, to the cardholder's own account."""

    def payout(self, payout_id: str, merchant_id: str, amount: int) -> None:
        """Moves released money from escrow to the merchant's settlement account."""

    def statement(self, day: str) -> list[dict]:
        """The bank's statement of one UTC day (YYYY-MM-DD), for reconciliation."""


class Merchants(Protocol):
    def product_for_sale(self, product_id: str) -> dict:
        """The product, if its merchant may sell cards now; raises otherwise."""
