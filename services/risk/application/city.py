"""The city's figures by industry and by day: views kept in the unit of work of each
assessment, so they move with the events and code changes that move them and a replay of the
events rebuilds them.

city_merchants   merchant id -> {name, industry}, from the merchant's application
city_shares      merchant id -> {industry, row}: what the merchant last added to its row
city_industries  industry -> the row (domain/city.py), the sum of its merchants' shares
city_days        ISO date -> what the rows moved by that day (event time); the city as of a
                 day is the sum of the days up to it, whatever order the events came in
"""

from __future__ import annotations

from datetime import timedelta

from eventstore import EventStore, UnitOfWork
from services.risk.application.days import day_range, rows_up_to
from services.risk.domain import city
from services.risk.domain.indicators import MerchantFigures

MERCHANTS, SHARES, INDUSTRIES, DAYS = (
    "city_merchants",
    "city_shares",
    "city_industries",
    "city_days",
)
APPLIED = "merchant.MerchantApplied.v1"


def learn_merchant(uow: UnitOfWork, data: dict, at: str) -> None:
    """A merchant's application: its name and industry. A merchant already counted under
    another industry (its application arrived after a first event) moves to its own."""
    merchant_id = data["merchant_id"]
    uow.put_view(MERCHANTS, merchant_id, {"name": data["name"], "industry": data["industry"]})
    before = uow.get_view(SHARES, merchant_id)
    if before is not None and before["industry"] != data["industry"]:
        _move(uow, merchant_id, before, {**before, "industry": data["industry"]}, at)


def account(
    uow: UnitOfWork, figures: MerchantFigures, code: str, at: str, known: dict | None = None
) -> None:
    """Moves the city's rows by what changed in this merchant's share since last counted
    (`known`: its city_merchants row, when the caller has read it already)."""
    merchant_id = figures.merchant_id
    if known is None:
        known = uow.get_view(MERCHANTS, merchant_id) or {}
    after = city.share(figures, code, known.get("industry"))
    before = uow.get_view(SHARES, merchant_id)
    if before != after:
        _move(uow, merchant_id, before, after, at)


def _move(uow: UnitOfWork, merchant_id: str, before: dict | None, after: dict, at: str) -> None:
    """Moves the industries' rows and the day's by the share's change; each row is written
    once, and only if it changed."""
    moves = [(after["industry"], after["row"], 1)]
    if before is not None:
        moves.insert(0, (before["industry"], before["row"], -1))
    for industry in dict.fromkeys(industry for industry, _, _ in moves):
        _add(uow, INDUSTRIES, industry, [(row, sign) for i, row, sign in moves if i == industry])
    _add(uow, DAYS, at[:10], [(row, sign) for _, row, sign in moves])
    uow.put_view(SHARES, merchant_id, after)


def _add(uow: UnitOfWork, view: str, key: str, deltas: list[tuple[dict, int]]) -> None:
    current = uow.get_view(view, key)
    row = current or city.empty_row()
    for delta, sign in deltas:
        row = city.moved(row, delta, sign)
    if row != current:
        uow.put_view(view, key, row)


def _with_coverage(row: dict) -> dict:
    return {**row, "escrow_coverage_bp": city.coverage_bp(row)}


def by_industry(*, store: EventStore) -> dict:
    """One row per industry with merchants, and the city's total."""
    rows = [
        {"key": key, **_with_coverage(row)}
        for key, row in store.list_views(INDUSTRIES, "", 100)
        if row["merchants"]
    ]
    return {"by": "industry", "items": rows, "total": _with_coverage(city.total(rows))}


def by_day(first: str, last: str, *, store: EventStore) -> dict:
    """The city as of the end of each day from `first` to `last` (ISO dates, inclusive)."""
    start, end = day_range(first, last)
    moves = rows_up_to(store, DAYS, "", last)
    running, items, index = city.empty_row(), [], 0
    for offset in range((end - start).days + 1):
        day = (start + timedelta(days=offset)).isoformat()
        while index < len(moves) and moves[index][0] <= day:
            running = city.moved(running, moves[index][1], 1)
            index += 1
        items.append({"key": day, **_with_coverage(running)})
    return {"by": "day", "items": items, "total": items[-1]}
