"""The 红黑榜 views, kept in each assessment's unit of work (so a replay rebuilds them).

list_standings       merchant id -> {list, reason_code, since, industry, department}: where
                     the merchant stands now
red_list             "<since>|<merchant id>" -> {merchant_id, since, reason_code, industry,
                     department}
red_list_by_dept     "<department>/<since>|<merchant id>" -> the same: one department's page
black_list, black_list_by_dept
                     the same, for the black list
A merchant keeps its `since` while it stays on the same list, whatever the reason becomes.
"""

from __future__ import annotations

from collections.abc import Set

from eventstore import EventStore, UnitOfWork
from services.paging import keyset_page
from services.risk.application.city import MERCHANTS
from services.risk.domain.departments import department_of_industry
from services.risk.domain.public_lists import REASONS, standing

STANDINGS = "list_standings"
LISTS = {"red": "red_list", "black": "black_list"}
BY_DEPT = {"red": "red_list_by_dept", "black": "black_list_by_dept"}
VIEWS = (STANDINGS, *LISTS.values(), *BY_DEPT.values())


def _keys(which: str, entry: dict) -> list[tuple[str, str]]:
    tail = f"{entry['since']}|{entry['merchant_id']}"
    return [(LISTS[which], tail), (BY_DEPT[which], f"{entry['department']}/{tail}")]


def update(
    uow: UnitOfWork,
    merchant_id: str,
    *,
    code: str,
    status: str,
    flags: Set[str],
    at: str,
    known: dict | None = None,
) -> None:
    """Where the merchant stands after an assessment (`known`: its city_merchants row, when
    the caller has read it already)."""
    now = standing(code, status, flags)
    before = uow.get_view(STANDINGS, merchant_id)
    if before is None and now is None:
        return
    if known is None:
        known = uow.get_view(MERCHANTS, merchant_id) or {}
    industry = known.get("industry") or "other"
    if (
        before is not None
        and now == (before["list"], before["reason_code"])
        and before.get("industry") == industry
    ):
        return
    since = at
    if before is not None:
        for view, key in _keys(before["list"], {"department": "", **before}):
            uow.delete_view(view, key)
        if now is not None and now[0] == before["list"]:
            since = before["since"]
    if now is None:
        uow.delete_view(STANDINGS, merchant_id)
        return
    entry = {
        "merchant_id": merchant_id,
        "since": since,
        "reason_code": now[1],
        "industry": industry,
        "department": department_of_industry(industry),
    }
    for view, key in _keys(now[0], entry):
        uow.put_view(view, key, entry)
    uow.put_view(STANDINGS, merchant_id, {"list": now[0], **entry})


def refile(uow: UnitOfWork, merchant_id: str) -> None:
    """Files the merchant under its industry's department again when its industry became
    known (its application came after a first event, or a store from before departments)."""
    before = uow.get_view(STANDINGS, merchant_id)
    industry = (uow.get_view(MERCHANTS, merchant_id) or {}).get("industry") or "other"
    if before is None or before.get("industry") == industry:
        return
    for view, key in _keys(before["list"], {"department": "", **before}):
        uow.delete_view(view, key)
    entry = {
        "merchant_id": merchant_id,
        "since": before["since"],
        "reason_code": before["reason_code"],
        "industry": industry,
        "department": department_of_industry(industry),
    }
    for view, key in _keys(before["list"], entry):
        uow.put_view(view, key, entry)
    uow.put_view(STANDINGS, merchant_id, {"list": before["list"], **entry})


def listed(
    which: str,
    *,
    store: EventStore,
    after: str = "",
    limit: int = 100,
    department: str | None = None,
) -> dict:
    """One list, longest listed first, a page at a time, with names and reasons; with a
    department, that department's merchants only."""
    if department:
        view, prefix = BY_DEPT[which], f"{department}/"
    else:
        view, prefix = LISTS[which], ""
    found = keyset_page(store.list_views, view, prefix, after, limit)
    items = []
    for _, entry in found["rows"]:
        known = store.get_view(MERCHANTS, entry["merchant_id"]) or {}
        industry = entry.get("industry") or known.get("industry") or "other"
        items.append(
            {
                **entry,
                "name": known.get("name", ""),
                "reason": REASONS[entry["reason_code"]],
                "industry": industry,
                "department": entry.get("department") or department_of_industry(industry),
            }
        )
    return {"items": items, "next_after": found["next_after"]}
