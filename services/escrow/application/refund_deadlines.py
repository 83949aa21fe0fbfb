"""Refunds the bank has not taken by their due date (policy [refunds]: cooling-off within 5
working days, others within 15 days by default).

A refund is committed with its bank instruction, and the instruction is deleted once the
bank takes it; one still pending after its due date is overdue, and regulators and the
bank see it here.
"""

from __future__ import annotations

from datetime import datetime

from eventstore import EventStore
from policy import Policy
from services.escrow.application.bank_instructions import PENDING
from services.escrow.domain.refund_due import refund_due_on
from services.paging import keyset_page


def due_on(instruction: dict, policy: Policy) -> str | None:
    """The due date of a refund instruction; None for one stored before refunds kept their
    rule (the scheduled work sends it again soon anyway)."""
    if "rule" not in instruction:
        return None
    return refund_due_on(
        instruction["rule"], datetime.fromisoformat(instruction["refunded_at"]), policy.refunds
    ).isoformat()


def overdue_refunds(
    *, store: EventStore, policy: Policy, now: datetime, after: str = "", limit: int = 100
) -> dict:
    today = now.date().isoformat()

    def late(key: str, doc: dict) -> bool:
        due = due_on(doc, policy)
        return due is not None and due < today

    def overdue(doc: dict) -> dict:
        due = refund_due_on(
            doc["rule"], datetime.fromisoformat(doc["refunded_at"]), policy.refunds
        )  # a late one has its rule: see `due_on`
        return {
            "card_id": doc["account"],
            "amount": doc["amount"],
            "rule": doc["rule"],
            "refunded_at": doc["refunded_at"],
            "due_on": due.isoformat(),
            "days_overdue": (now.date() - due).days,
        }

    found = keyset_page(store.list_views, PENDING, "refund|", after, limit, late)
    items = [overdue(doc) for _, doc in found["rows"]]
    return {"items": items, "next_after": found["next_after"]}
