"""Reading the views kept a row a day (the city's days, a merchant's health days): the
regulator's from..to range, checked one way, and the rows up to its last day."""

from __future__ import annotations

from datetime import date

from eventstore import EventStore
from services.domain_errors import InvalidInput

MAX_DAYS = 366


def day_range(first: str, last: str) -> tuple[date, date]:
    """`first`..`last` (ISO dates, inclusive) as dates: InvalidInput `invalid_range` unless
    they are dates 1 to MAX_DAYS days apart."""
    try:
        start, end = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        raise InvalidInput("from and to are dates, YYYY-MM-DD", "invalid_range") from None
    if end < start or (end - start).days >= MAX_DAYS:
        raise InvalidInput(f"from..to is 1 to {MAX_DAYS} days", "invalid_range")
    return start, end


def rows_up_to(store: EventStore, view: str, prefix: str, last: str) -> list[tuple[str, dict]]:
    """The rows of `view` keyed `<prefix><ISO date>` up to `last`, oldest first, with the
    date as their key."""
    rows, cursor = [], prefix
    while page := store.list_views(view, cursor, 500):
        mine = [(k[len(prefix) :], v) for k, v in page if k.startswith(prefix)]
        rows += [(day, v) for day, v in mine if day <= last]
        cursor = page[-1][0]
        if len(mine) < len(page) or len(page) < 500 or (mine and mine[-1][0] > last):
            break
    return rows
