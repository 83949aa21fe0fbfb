"""The Ledger port over nameko RPC: `ledger.receipt(event_id)`."""

from __future__ import annotations


class LedgerOverRpc:
    def __init__(self, proxy) -> None:
        self._proxy = proxy

    def receipt(self, event_id: str) -> dict | None:
        return self._proxy.receipt(event_id)
