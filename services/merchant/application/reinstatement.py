"""Relisting a delisted merchant: a regulator reinstates it once its health code is no
longer red but for the delisting itself (model.reinstate decides). The code is read from the
risk service (the Risk port) just before the decision; the status change is the merchant's
MerchantStatusChanged event (to "active"), which the risk service folds like any status
change: its code then drops at once to what the figures say (health_code.evaluate), and the
red list drops the merchant unless it is red for another reason.
"""

from __future__ import annotations

from datetime import datetime

from eventstore import EventStore
from services.merchant.application.ports import Risk
from services.merchant.application.store import decide, load_merchant
from services.merchant.domain import model


def reinstate(
    merchant_id: str,
    reason: str,
    regulator: str,
    *,
    store: EventStore,
    risk: Risk,
    now: datetime,
    metadata: dict | None = None,
) -> dict:
    """{merchant_id, status: "active", reinstated_at}. NotFound for no such merchant,
    Conflict `not_delisted`, BusinessRuleViolation `still_red`."""
    load_merchant(store, merchant_id)  # NotFound before asking risk anything
    health = risk.code_of(merchant_id)
    code, red_for = (None, []) if health is None else (health["code"], health["reasons"])
    decide(
        store,
        merchant_id,
        lambda merchant: [model.reinstate(merchant, code, red_for, reason, regulator)],
        metadata,
    )
    return {"merchant_id": merchant_id, "status": "active", "reinstated_at": now.isoformat()}
