"""When a refund is due (domain-rules.md): a cooling-off refund within N working days, any
other within M days, both from the policy's [refunds]. Stdlib only.

Working days are Monday to Friday. China's public holidays and the weekend days worked in
their place (调休) are published year by year and are not modelled here, so a cooling-off
refund around a holiday is due a little early, never late.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta


def add_working_days(start: date, days: int) -> date:
    day = start
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def refund_due_on(rule: str, refunded_at: datetime, refunds) -> date:
    """`refunds` is the policy's [refunds] section."""
    if rule == "cooling_off":
        return add_working_days(refunded_at.date(), refunds.cooling_off_due_working_days)
    return refunded_at.date() + timedelta(days=refunds.other_refunds_due_days)
