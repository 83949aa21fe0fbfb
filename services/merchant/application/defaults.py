"""A merchant's default, declared by regulators: one proposes, a different one confirms
(maker-checker, see model.declare_default), and once the merchant is defaulted the escrow
refunds every open card of it.

The refund runs after the merchant's default is committed: a crash or a failure in between
leaves a defaulted merchant whose refund has not finished, and the next declaration by any
regulator resumes it (the escrow refunds what is left, never a card twice).
"""

from __future__ import annotations

from datetime import datetime

from eventstore import EventStore
from services.merchant.application.ports import Escrow
from services.merchant.application.store import decide, load_merchant
from services.merchant.domain import model


def declare_default(
    merchant_id: str,
    reason: str,
    regulator: str,
    *,
    store: EventStore,
    escrow: Escrow,
    now: datetime,
    metadata: dict | None = None,
) -> dict:
    """One regulator's step of a default. Answers the proposal (`default_proposed`, with its
    reason, proposer and time) while it waits for a second regulator; once the merchant is
    defaulted, what the escrow's refund did (`defaulted`, cards and amount refunded)."""
    done = decide(
        store,
        merchant_id,
        lambda merchant: model.declare_default(merchant, reason, regulator, now, note=reason),
        metadata,
    )
    merchant = done.aggregate
    if merchant.status == "defaulted":
        refunds = escrow.refund_defaulted_merchant(merchant_id, reason, regulator, metadata)
        return {
            "merchant_id": merchant_id,
            "status": "defaulted",
            "cards_refunded": refunds["cards_refunded"],
            "amount_refunded": refunds["amount_refunded"],
        }
    proposal = merchant.default_proposal
    # A merchant not defaulted after a declaration holds a proposal: the decision either
    # proposed, confirmed (defaulted) or refused.
    assert proposal is not None, "a declaration that did not default proposes"
    return {
        "merchant_id": merchant_id,
        "status": "default_proposed",
        "reason": proposal.reason,
        "proposed_by": proposal.proposed_by,
        "proposed_at": proposal.proposed_at,
    }


def default_progress(merchant_id: str, *, store: EventStore, escrow: Escrow) -> dict:
    """Where a merchant's default stands, for the regulator's live progress bar: "none",
    "proposed" (waiting for a second regulator), "refunding" (the escrow's refund runs, or
    the default is confirmed and it has not begun) or "finished". NotFound for no merchant."""
    merchant = load_merchant(store, merchant_id)
    progress = escrow.default_progress(merchant_id)
    figures = {"cards_total": 0, "cards_refunded": 0, "amount_refunded": 0}
    if progress is not None:
        status = "finished" if progress["finished"] else "refunding"
        figures = {k: progress[k] for k in figures}  # type: ignore[literal-required]
    elif merchant.status == "defaulted":
        status, figures["cards_total"] = "refunding", None  # type: ignore[assignment]
    elif merchant.default_proposal is not None:
        status = "proposed"
    else:
        status = "none"
    return {"merchant_id": merchant_id, "status": status, **figures}
