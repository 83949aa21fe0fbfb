"""Rebuilding the risk service's codes, alerts and ratings from position 0 of the platform's
events.

The merchant, escrow and risk stores are read whole and merged in event time; each event is
folded and assessed exactly as the live consumers do, into a fresh store: the escrow's
confirmed spends become the `confirmed_spends` view again, and each rating (a fact of the
risk service's own, its text encrypted) is copied into the fresh store, same stream, id and
data, and projected into the rating views. Operators use it to rebuild risk after a change
of policy or of an indicator; the tests use it to show that the live service's codes and
rating views are what the events say.

    python -m services.risk.application.replay MERCHANT_URL ESCROW_URL RISK_URL FRESH_URL
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from datetime import datetime

from eventstore import EventStore, NewEvent, RecordedEvent
from eventstore.factory import open_store
from policy import load_policy
from services.risk.application import ratings
from services.risk.application.assessment import assess
from services.risk.application.commands import observe_event
from services.risk.application.observations import RELEVANT, event_time
from services.risk.application.projections import ALERTS, CODES
from services.risk.domain.health_code import RiskRules

COMPLAINT_FOLDS = (
    "risk.ComplaintFiled.v1",
    "risk.ComplaintResolved.v1",
    "risk.ComplaintRuledUnfounded.v1",
)


RATED = "risk.SpendRated.v1"


def _events(store: EventStore, types: tuple[str, ...]) -> Iterator[tuple[str, RecordedEvent]]:
    after = 0
    while page := store.read_all(after, 1000):
        for record in page:
            after = record.position
            if record.type in types:
                yield event_time(record.data, record.recorded_at.isoformat()), record


def replay(
    sources: list[EventStore], risk_source: EventStore, fresh: EventStore, *, rules: RiskRules
) -> int:
    """Folds every relevant event, oldest first, into `fresh`; returns how many."""
    merged = [e for store in sources for e in _events(store, RELEVANT)]
    merged += list(_events(risk_source, (*COMPLAINT_FOLDS, RATED)))
    merged.sort(key=lambda e: e[0])
    for at, record in merged:
        with fresh.unit_of_work() as uow:
            if record.type == RATED:
                # The rating's own stream, so the fresh store answers with its text too.
                uow.append(
                    record.stream,
                    [NewEvent(record.type, record.data, record.metadata, record.id)],
                    record.version - 1,
                )
                ratings.project_rating(uow, record.data)
            elif record.type in COMPLAINT_FOLDS:
                assess(
                    uow,
                    record.data["merchant_id"],
                    as_of=datetime.fromisoformat(at),
                    rules=rules,
                    event=(record.type, record.data, at),
                )
            else:  # as the live consumer of merchant and escrow events does
                observe_event(uow, record.type, record.data, at, rules=rules)
    return len(merged)


def rating_views(store: EventStore) -> dict[str, list]:
    """Every rating view and the confirmed spends, as stored: a replay rebuilds them exactly."""
    return {
        name: store.list_views(name, "", 1_000_000)
        for name in (ratings.SPENDS, ratings.BY_MERCHANT, ratings.TOTALS)
    }


def codes_and_alerts(store: EventStore) -> tuple[dict, list]:
    """What the events decided: each merchant's code and why, and every alert opened (the
    regulator's later steps on them are not events the replay folds)."""
    codes = {
        key: (doc["code"], sorted(r["indicator"] for r in doc["reasons"]))
        for key, doc in store.list_views(CODES, "", 100_000)
    }
    alerts = sorted(
        (doc["merchant_id"], doc["code"], doc["opened_at"], doc["improve_by"])
        for _, doc in store.list_views(ALERTS, "", 100_000)
    )
    return codes, alerts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("merchant", "escrow", "risk", "fresh"):
        parser.add_argument(f"{name}_url")
    parser.add_argument("--policy", default=None)
    args = parser.parse_args()
    stores = [
        open_store(getattr(args, f"{n}_url")) for n in ("merchant", "escrow", "risk", "fresh")
    ]
    try:
        count = replay(
            stores[:2],
            stores[2],
            stores[3],
            rules=RiskRules.from_policy(load_policy(args.policy).risk),
        )
        codes, alerts = codes_and_alerts(stores[3])
        print(
            f"{count} events replayed: {len(codes)} merchants assessed, {len(alerts)} open alerts"
        )
    finally:
        for store in stores:
            store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
