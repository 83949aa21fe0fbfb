"""The risk application's Merchants port over nameko RPC to the merchant service."""

from __future__ import annotations

from typing import Any

from services.domain_errors import (
    BusinessRuleViolation,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
)
from services.remote_errors import ServiceError

ERROR_OF_KIND: dict[str, type[DomainError]] = {
    "invalid_input": InvalidInput,
    "not_found": NotFound,
    "conflict": Conflict,
    "business_rule": BusinessRuleViolation,
}
"""services.remote_errors.KINDS the other way round."""


class MerchantStatusOverRpc:
    """The merchant service's `change_status` and `profiles` RPCs. Refusals cross RPC as
    ServiceError (`domain_errors_cross`), not as nameko's RemoteError; they are raised here
    as the domain errors they were, so the application decides what a refusal means."""

    def __init__(self, proxy: Any):  # a nameko RpcProxy("merchant"); nameko has no types
        self.proxy = proxy

    def change_status(self, merchant_id: str, status: str, reason: str, changed_by: str) -> dict:
        try:
            return self.proxy.change_status(merchant_id, status, reason, changed_by)
        except ServiceError as refused:
            error = ERROR_OF_KIND.get(refused.kind)
            if error is None:
                raise
            raise error(refused.message, refused.code, refused.details) from refused

    def profiles(self, merchant_ids: list[str]) -> dict[str, dict]:
        return self.proxy.profiles(merchant_ids)
