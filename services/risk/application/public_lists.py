"""The 红黑榜 views, kept in each assessment's unit of work (so a replay rebuilds them).

list_standings  merchant id -> {list, reason_code, since}: where the merchant stands now
red_list        "<since>|<merchant id>" -> {merchant_id, since, reason_code}
black_list      the same, for the black list
A merchant keeps its `since` while it stays on the same list, whatever the reason becomes.
"""

from __future__ import annotations

from collections.abc import Set

from eventstore import EventStore, UnitOfWork
from services.paging import keyset_page
from services.risk.application.city import MERCHANTS
from services.risk.domain.public_lists import REASONS, standing

STANDINGS = "list_standings"
LISTS = {"red": "red_list", "black": "black_list"}


def update(
    uow: UnitOfWork, merchant_id: str, *, code: str, status: str, flags: Set[str], at: str
) -> None:
    now = standing(code, status, flags)
    before = uow.get_view(STANDINGS, merchant_id)
    if before is not None and now == (before["list"], before["reason_code"]):
        return
    since = at
    if before is not None:
        uow.delete_view(LISTS[before["list"]], f"{before['since']}|{merchant_id}")
        if now is not None and now[0] == before["list"]:
            since = before["since"]
    if now is None:
        uow.delete_view(STANDINGS, merchant_id)
        return
    entry = {"merchant_id": merchant_id, "since": since, "reason_code": now[1]}
    uow.put_view(LISTS[now[0]], f"{since}|{merchant_id}", entry)
    uow.put_view(STANDINGS, merchant_id, {"list": now[0], **entry})


def listed(which: str, *, store: EventStore, after: str = "", limit: int = 100) -> dict:
    """One list, longest listed first, a page at a time, with names and reasons."""
    found = keyset_page(store.list_views, LISTS[which], "", after, limit)
    items = []
    for _, entry in found["rows"]:
        known = store.get_view(MERCHANTS, entry["merchant_id"]) or {}
        items.append(
            {**entry, "name": known.get("name", ""), "reason": REASONS[entry["reason_code"]]}
        )
    return {"items": items, "next_after": found["next_after"]}
