"""What the inspection application needs from outside: the ledger's receipt of an event, and
the classification's eligible lists and data checks (its own module in this service; a port
so that the plans' tests can feed eligible lists directly)."""

from __future__ import annotations

from typing import Protocol


class Ledger(Protocol):
    def receipt(self, event_id: str) -> dict | None:
        """The inclusion proof of the event under the published checkpoint; None until the
        ledger holds it under a checkpoint the witnesses cosigned."""
        ...


class Classifications(Protocol):
    def eligible(self, department: str, kind: str) -> list[dict]:
        """[{merchant_id, tier, white_listed, at_quota}] for a plan of `department`."""
        ...

    def data_check(self, merchant_id: str) -> tuple[bool, list[dict]]:
        """(passed, [{check, passed, value, threshold}]) over the merchant's data now."""
        ...

    def tier(self, merchant_id: str) -> str | None:
        """The merchant's combined tier A..D now, None when not classified."""
        ...
