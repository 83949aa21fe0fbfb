"""A stand-in for the merchant service behind risk's `Merchants` port."""

from __future__ import annotations

from services.domain_errors import Conflict


class FakeMerchants:
    """The Merchants port: records each status change; `final` merchants refuse any, as the
    merchant service refuses a closed or defaulted merchant's."""

    def __init__(self, final: tuple[str, ...] = ()):
        self.final = final
        self.changes: list[tuple[str, str, str, str]] = []

    def change_status(self, merchant_id: str, status: str, reason: str, changed_by: str) -> dict:
        if merchant_id in self.final:
            raise Conflict(f"a closed merchant cannot become {status}", "invalid_transition")
        self.changes.append((merchant_id, status, reason, changed_by))
        return {"merchant_id": merchant_id, "status": status}
