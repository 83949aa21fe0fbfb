"""A merchant's health history: one row a day of every indicator, every code change with
its reasons, and the policy's thresholds, for the regulator's drill-down and the merchant.

health_days  "<merchant id>/<ISO date>" -> {date, code, metrics}: the day's last evaluation,
             kept by each assessment in its unit of work (so a replay rebuilds it)
The code changes are the merchant's HealthCodeChanged events themselves.
"""

from __future__ import annotations

from datetime import timedelta

from eventstore import EventStore, UnitOfWork
from services.domain_errors import NotFound
from services.risk.application.days import day_range, rows_up_to
from services.risk.application.projections import CODES
from services.risk.application.store import code_stream
from services.risk.domain.health_code import RiskRules
from services.risk.domain.history import thresholds

DAYS = "health_days"
CHANGED = "risk.HealthCodeChanged.v1"


def keep_day(uow: UnitOfWork, merchant_id: str, day: str, code: str, metrics: dict) -> None:
    key = f"{merchant_id}/{day}"
    row = {"date": day, "code": code, "metrics": metrics}
    if uow.get_view(DAYS, key) != row:
        uow.put_view(DAYS, key, row)


def health_history(
    merchant_id: str, first: str, last: str, *, store: EventStore, rules: RiskRules
) -> dict:
    """Days from `first` to `last` (inclusive): a day without an evaluation repeats the last
    one before it; a day before the merchant's first evaluation has no row."""
    start, end = day_range(first, last)
    if store.get_view(CODES, merchant_id) is None:
        raise NotFound(f"no assessment of {merchant_id} yet")
    kept = [row for _, row in rows_up_to(store, DAYS, f"{merchant_id}/", last)]
    days, latest, index = [], None, 0
    for offset in range((end - start).days + 1):
        day = (start + timedelta(days=offset)).isoformat()
        while index < len(kept) and kept[index]["date"] <= day:
            latest, index = kept[index], index + 1
        if latest is not None:
            days.append({"date": day, "code": latest["code"], **latest["metrics"]})
    changes = [
        {
            "at": record.data["evaluated_at"],
            "code": record.data["code"],
            "previous": record.data["previous"],
            "reasons": record.data["reasons"],
        }
        for record in store.read_stream(code_stream(merchant_id))
        if record.type == CHANGED and first <= record.data["evaluated_at"][:10] <= last
    ]
    return {
        "merchant_id": merchant_id,
        "from": first,
        "to": last,
        "days": days,
        "changes": changes,
        "thresholds": thresholds(rules),
    }
