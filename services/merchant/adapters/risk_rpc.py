"""The merchant application's Risk port over nameko RPC to the risk service."""

from __future__ import annotations

from typing import Any

from services.merchant.application.ports import HealthCode


class RiskOverRpc:
    """A merchant's health code, as the risk service's `codes` RPC answers it."""

    def __init__(self, proxy: Any):  # a nameko RpcProxy("risk"); nameko has no types
        self.proxy = proxy

    def code_of(self, merchant_id: str) -> HealthCode | None:
        found = self.proxy.codes([merchant_id]).get(merchant_id)
        if found is None:
            return None
        return {"code": found["code"], "reasons": [r["indicator"] for r in found["reasons"]]}
