"""China time for the inspection's calendar. Stdlib only.

The quotas' and the e码查 block's calendar year, and the working days of 一公开 and of a
rectification's deadline, are China's (Asia/Shanghai, UTC+8 all year: China keeps no summer
time), whatever zone an event's time is written in: a check-in at 2027-01-01T01:00+08:00
(2026-12-31T17:00Z) counts in 2027. A time without a zone is taken as UTC, as the platform's
clock writes them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


def china_time(at: str | datetime) -> datetime:
    when = at if isinstance(at, datetime) else datetime.fromisoformat(at)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(CHINA)


def china_day(at: str | datetime) -> date:
    return china_time(at).date()


def china_year(at: str | datetime) -> int:
    return china_time(at).year


def working_days_between(first: date, last: date) -> int:
    """Mon–Fri days after `first` up to and including `last`."""
    days, day = 0, first
    while day < last:
        day += timedelta(days=1)
        days += day.weekday() < 5
    return days


def add_working_days(first: date, days: int) -> date:
    """The first day with `days` working days (Mon–Fri) after `first`, itself when 0: the
    smallest `last` with working_days_between(first, last) >= days."""
    day, counted = first, 0
    while counted < days:
        day += timedelta(days=1)
        counted += day.weekday() < 5
    return day
