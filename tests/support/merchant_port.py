"""A stand-in for the merchant service behind risk's `Merchants` port."""

from __future__ import annotations

from services.domain_errors import Conflict


class FakeMerchants:
    """The Merchants port: records each status change; `final` merchants refuse any, as the
    merchant service refuses a closed or defaulted merchant's."""

    def __init__(self, final: tuple[str, ...] = (), profiles: dict[str, dict] | None = None):
        self.final = final
        self.changes: list[tuple[str, str, str, str]] = []
        self.known = profiles or {}
        self.asked: list[list[str]] = []

    def profiles(self, merchant_ids: list[str]) -> dict[str, dict]:
        self.asked.append(list(merchant_ids))
        return {m: self.known[m] for m in merchant_ids if m in self.known}

    def change_status(self, merchant_id: str, status: str, reason: str, changed_by: str) -> dict:
        if merchant_id in self.final:
            raise Conflict(f"a closed merchant cannot become {status}", "invalid_transition")
        self.changes.append((merchant_id, status, reason, changed_by))
        return {"merchant_id": merchant_id, "status": status}
