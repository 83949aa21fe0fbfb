"""The risk service's reads: complaints with their texts, health codes, and alerts (the
queue itself is alerts.py's)."""

from __future__ import annotations

from eventstore import EventStore
from privacy import Forgotten, Vault
from services.domain_errors import NotFound
from services.paging import keyset_page
from services.risk.application.alerts import get_alert as get_alert  # a read, here too
from services.risk.application.projections import (
    BY_CONSUMER,
    BY_MERCHANT,
    CODES,
    COMPLAINTS,
)
from services.risk.application.store import RESPONSE, TEXT, complaint_stream
from services.risk.domain.complaints import consumer_actions
from services.risk.domain.indicators import public_metrics


def get_complaint(complaint_id: str, *, store: EventStore, vault: Vault) -> dict:
    view = store.get_view(COMPLAINTS, complaint_id)
    if view is None:
        raise NotFound(f"no complaint {complaint_id}")
    texts = {}
    for record in store.read_stream(complaint_stream(complaint_id)):
        for field, purpose in (("text_encrypted", TEXT), ("response_encrypted", RESPONSE)):
            if field in record.data:
                text: str | None
                try:
                    text = vault.decrypt(view["consumer_id"], purpose, record.data[field])
                except Forgotten:
                    text = None
                texts[field.removesuffix("_encrypted")] = text
    return {**view, **texts}


def merchant_complaints(
    merchant_id: str, *, store: EventStore, vault: Vault, after: str = "", limit: int = 100
) -> dict:
    """The complaints about a merchant, oldest first, with their texts, a page at a time;
    `next_after` is where the next page starts, None after the last."""
    found = keyset_page(store.list_views, BY_MERCHANT, f"{merchant_id}/", after, limit)
    return {
        "items": [
            get_complaint(ref["complaint_id"], store=store, vault=vault) for _, ref in found["rows"]
        ],
        "next_after": found["next_after"],
    }


def consumer_complaints(
    consumer_id: str, *, store: EventStore, vault: Vault, after: str = "", limit: int = 100
) -> dict:
    """The consumer's own complaints, newest first, with their texts, the merchant's
    response and what the consumer may do next (`next_actions`), a page at a time."""
    found = keyset_page(store.list_views, BY_CONSUMER, f"{consumer_id}/", after, limit)
    items = []
    for _, ref in found["rows"]:
        complaint = get_complaint(ref["complaint_id"], store=store, vault=vault)
        items.append({**complaint, "next_actions": consumer_actions(complaint["status"])})
    return {"items": items, "next_after": found["next_after"]}


def health(merchant_id: str, *, store: EventStore, full: bool = True) -> dict:
    """The code with its reasons and metrics; without `full` (the public's view), only the
    metrics that are not money (indicators.PUBLIC_METRICS)."""
    doc = store.get_view(CODES, merchant_id)
    if doc is None:
        raise NotFound(f"no assessment of {merchant_id} yet")
    found = {
        k: doc[k] for k in ("merchant_id", "code", "since", "reasons", "metrics", "evaluated_at")
    }
    if not full:
        found["metrics"] = public_metrics(found["metrics"])
    return found


def codes(merchant_ids: list[str], *, store: EventStore) -> dict:
    """The assessed codes of these merchants, by id; the unassessed are absent."""
    found = {}
    for merchant_id in merchant_ids:
        doc = store.get_view(CODES, merchant_id)
        if doc is not None:
            found[merchant_id] = {k: doc[k] for k in ("code", "since", "reasons")}
    return found
