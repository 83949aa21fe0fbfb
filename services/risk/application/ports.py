"""What the risk application needs from outside: the merchant service's status changes, and
the merchants' names and industries (a store from before risk kept them)."""

from __future__ import annotations

from typing import Protocol


class Merchants(Protocol):
    def change_status(self, merchant_id: str, status: str, reason: str, changed_by: str) -> dict:
        """Moves the merchant to `status` ({merchant_id, status}; the same status again
        changes nothing). Raises the merchant's refusal as a domain error: Conflict
        `invalid_transition` when its status cannot go there (a closed or defaulted merchant
        goes nowhere), NotFound for no such merchant."""
        ...

    def profiles(self, merchant_ids: list[str]) -> dict[str, dict]:
        """merchant id -> {name, industry}, for those that exist among `merchant_ids`."""
        ...
