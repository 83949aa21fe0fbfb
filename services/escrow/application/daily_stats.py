"""A merchant's figures by day: what each day's events changed, so a day's row is a sum.

Every event moves its card's contribution to the merchant's figures (`domain/stats.py`); the
change is added to the row of the event's own day (UTC, from the time the event carries),
in the unit of work that appends it. A row holds changes only, so rows are the same however
the events are grouped into commits, and a card's rows can be rebuilt from its stream alone.

Reading a range turns changes into the figures of `/stats`: the day's issuance, redemptions
and refunds are its changes; open cards, outstanding balance and escrow held are levels at
the end of the day, which are today's totals minus the changes of every later day. A day
without a row changed nothing: it shows zeros and carries the levels over.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from eventstore import UnitOfWork
from services.domain_errors import InvalidInput
from services.escrow.domain.stats import FIGURES

DAILY = "merchant_stats_daily"
"""Keyed "<merchant id>/<YYYY-MM-DD>": the changes of the merchant's figures that day."""
LEVELS = ("open_cards", "outstanding_balance", "escrow_held")
"""Figures that are levels (end of day); the rest are the day's flows."""
MAX_DAYS = 366
_STAMPS = (
    "purchased_at",
    "issued_at",
    "confirmed_at",
    "started_at",
    "requested_at",
    "voided_at",
    "released_at",
    "refunded_at",
    "returned_at",
    "abandoned_at",
)
"""The field holding the time of each kind of card event."""


def event_time(event: object) -> str:
    return next(getattr(event, name) for name in _STAMPS if hasattr(event, name))


def event_day(event: object) -> str:
    return event_time(event)[:10]


def add(by_day: dict[str, dict[str, int]], event: object, before: dict, after: dict) -> None:
    """Adds one event's change of its card's contribution to its day in `by_day`."""
    if after == before:
        return
    change = by_day.setdefault(event_day(event), dict.fromkeys(FIGURES, 0))
    for name in FIGURES:
        change[name] += after[name] - before[name]


def record(uow: UnitOfWork, merchant_id: str, by_day: dict[str, dict[str, int]]) -> None:
    """Adds the changes to the merchant's rows, in the caller's unit of work."""
    for day, change in by_day.items():
        key = f"{merchant_id}/{day}"
        row = uow.get_view(DAILY, key) or {"day": day, **dict.fromkeys(FIGURES, 0)}
        uow.put_view(DAILY, key, {**row, **{n: row[n] + change[n] for n in FIGURES}})


def parse_range(start: str, end: str) -> tuple[date, date]:
    """The inclusive range `start`..`end` (YYYY-MM-DD), at most MAX_DAYS days."""
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except (TypeError, ValueError):
        raise InvalidInput("from and to must be dates (YYYY-MM-DD)", "invalid_date") from None
    if last < first:
        raise InvalidInput("to is before from", "invalid_date_range")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(f"at most {MAX_DAYS} days at a time", "date_range_too_long")
    return first, last


def days(
    merchant_id: str,
    first: date,
    last: date,
    totals: dict,
    list_views: Callable[[str, str, int], list],
) -> list[dict]:
    """One row per day from `first` to `last`; `totals` are the merchant's figures now."""
    prefix = f"{merchant_id}/"
    changes: dict[str, dict] = {}
    later = dict.fromkeys(LEVELS, 0)
    cursor = prefix + (first - timedelta(days=1)).isoformat()
    while rows := list_views(DAILY, cursor, 500):
        for key, row in rows:
            if not key.startswith(prefix):
                break
            if row["day"] > last.isoformat():
                for name in LEVELS:
                    later[name] += row[name]
            else:
                changes[row["day"]] = row
        else:
            cursor = rows[-1][0]
            continue
        break
    level = {name: totals[name] - later[name] for name in LEVELS}
    out = []
    day = last
    while day >= first:
        change = changes.get(day.isoformat(), dict.fromkeys(FIGURES, 0))
        out.append(
            {
                "day": day.isoformat(),
                **{n: change[n] for n in FIGURES if n not in LEVELS},
                **level,
            }
        )
        level = {name: level[name] - change[name] for name in LEVELS}
        day -= timedelta(days=1)
    return out[::-1]
