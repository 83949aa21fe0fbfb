"""The daily reconciliation, run by the escrow's scheduled work, and the reports it keeps.

Each finished UTC day (before today by the platform's clock), from the escrow's first day on,
is reconciled once, in day order, a bounded number of days per page: the bank's statement of
the day against the movements the escrow recorded (`reconciliation.reconcile`). The report
is kept in `RECONCILIATIONS` (by day) and `NEWEST_FIRST` (the workbench's list), and
`escrow.ReconciliationCompleted.v1` is appended to the day's own stream, in one unit of work;
the event reaches the other services through the outbox like every escrow event.

The day's stream is appended at "no stream yet", so two runs reconciling the same day at
once commit one report: the other's append fails and it moves on.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from eventstore import NO_STREAM, ConcurrencyError, EventStore, RecordedEvent
from eventstore.codec import event_fields
from services.domain_errors import InvalidInput, NotFound
from services.escrow.application import reconciliation
from services.escrow.application.ports import Bank
from services.escrow.application.store import CODEC
from services.escrow.domain.events import ReconciliationCompleted
from services.paging import keyset_page

RECONCILIATIONS = "reconciliations"
"""Keyed "<YYYY-MM-DD>": the day's report (the event's data)."""
NEWEST_FIRST = "reconciliations_newest_first"
"""The same reports keyed by `newest_first_key`, so a scan in key order lists newest first."""
PROGRESS = "reconciliation_progress"
"""One row, "next": {"day": the first day not yet reconciled}."""
DAYS_PER_PAGE = 7
"""Days reconciled per page at most (each reads one statement and one day of the view)."""
SIDES = ("missing_at_bank", "unexpected_at_bank")
LISTED_DIFFERENCES = 100
"""Differences a report lists (the rest are counted in `differences_total`): the event stays
well under the broker's frame limit, and a page of reports stays small, however wrong a
statement is."""
_STAMPS = ("purchased_at", "issued_at", "confirmed_at", "paid_at", "refunded_at", "returned_at")


def stream(day: str) -> str:
    return f"reconciliation-{day}"


def newest_first_key(day: str) -> str:
    """ "2026-03-01" -> "79739698": later days sort first."""
    return f"{99_999_999 - int(day.replace('-', '')):08d}"


def _day_of(record: RecordedEvent) -> str:
    """The platform day of an event: from the time it carries (the platform's clock, which
    the demo moves), else from when the store recorded it."""
    for name in _STAMPS:
        if isinstance(stamp := record.data.get(name), str) and stamp:
            return stamp[:10]
    return record.recorded_at.date().isoformat()


def _first_day(store: EventStore) -> str | None:
    """The day of the escrow's first event or its first movement, whichever is earlier."""
    days = [day for day in (reconciliation.earliest_day(store),) if day]
    if first := store.read_all(0, 1):
        days.append(_day_of(first[0]))
    return min(days) if days else None


def reconcile_day(store: EventStore, bank: Bank, day: str, now: datetime) -> dict | None:
    """Reconciles one day and commits its report; None when another run committed it first."""
    result = reconciliation.reconcile(day, bank.statement(day), store=store)
    differences = [{"side": side, **found} for side in SIDES for found in result[side]]
    event = ReconciliationCompleted(
        day=day,
        status="differences" if differences else "matched",
        matched=result["matched"],
        differences=differences[:LISTED_DIFFERENCES],
        reconciled_at=now.isoformat(),
        differences_total=len(differences),
    )
    report = event_fields(event)
    next_day = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    try:
        with store.unit_of_work() as uow:
            uow.append(stream(day), [CODEC.encode(event)], NO_STREAM)
            uow.put_view(RECONCILIATIONS, day, report)
            uow.put_view(NEWEST_FIRST, newest_first_key(day), report)
            progress = uow.get_view(PROGRESS, "next")
            if progress is None or progress["day"] < next_day:
                uow.put_view(PROGRESS, "next", {"day": next_day})
    except ConcurrencyError:
        return None
    return report


def reconcile_due_days(
    store: EventStore, bank: Bank, now: datetime, budget: int = DAYS_PER_PAGE
) -> tuple[int, bool]:
    """Reconciles up to `budget` finished days not yet reconciled, oldest first; returns how
    many it reconciled and whether finished days are left for the next page."""
    progress = store.get_view(PROGRESS, "next")
    day = progress["day"] if progress else _first_day(store)
    today = now.date().isoformat()
    done = 0
    while day is not None and day < today:
        if done >= budget:
            return done, True
        if store.get_view(RECONCILIATIONS, day) is None:
            done += reconcile_day(store, bank, day, now) is not None
        day = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    return done, False


def _checked_day(day: str) -> str:
    try:
        if len(day) == 10 and date.fromisoformat(day).isoformat() == day:
            return day
    except ValueError:
        pass
    raise InvalidInput(f"{day!r} is not a date (YYYY-MM-DD)", "invalid_date")


def _public(report: dict) -> dict:
    """The report as the regulator and the bank read it."""
    return {"date": report["day"], **{k: v for k, v in report.items() if k != "day"}}


def report_of(day: str, *, store: EventStore) -> dict:
    """{date, status, matched, differences, reconciled_at}; 400 `invalid_date`, 404
    `not_reconciled` for a day not reconciled yet."""
    found = store.get_view(RECONCILIATIONS, _checked_day(day))
    if found is None:
        raise NotFound(f"{day} has not been reconciled yet", "not_reconciled")
    return _public(found)


def reports(*, store: EventStore, after: str = "", limit: int = 100) -> dict:
    """Reconciled days, newest first, a page at a time."""
    page = keyset_page(store.list_views, NEWEST_FIRST, "", after, limit)
    return {"items": [_public(doc) for _, doc in page["rows"]], "next_after": page["next_after"]}
