"""The merchant application's Escrow port over nameko RPC to the escrow service."""

from __future__ import annotations

from typing import Any

from services.merchant.application.ports import DefaultProgress, DefaultRefunds


class EscrowOverRpc:
    """The escrow's bulk refund of a defaulted merchant, as its `default_merchant` RPC.

    A refusal arrives as the escrow's ServiceError and crosses back to the merchant's caller
    as it is, with the escrow's status and code."""

    def __init__(self, proxy: Any):  # a nameko RpcProxy("escrow"); nameko has no types
        self.proxy = proxy

    def refund_defaulted_merchant(
        self, merchant_id: str, reason: str, declared_by: str, metadata: dict | None
    ) -> DefaultRefunds:
        done = self.proxy.default_merchant(merchant_id, reason, declared_by, metadata)
        return {
            "cards_refunded": done["cards_refunded"],
            "amount_refunded": done["amount_refunded"],
        }

    def default_progress(self, merchant_id: str) -> DefaultProgress | None:
        return self.proxy.default_progress(merchant_id)
