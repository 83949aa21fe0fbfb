"""Rebuilding the risk service's codes and alerts from position 0 of the platform's events.

The merchant, escrow and risk stores are read whole and merged in event time; each event is
folded and assessed exactly as the live consumers do, into a fresh store. Operators use it to
rebuild risk after a change of policy or of an indicator; the tests use it to show that the
live service's codes are what the events say.

    python -m services.risk.application.replay MERCHANT_URL ESCROW_URL RISK_URL FRESH_URL
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from datetime import datetime

from eventstore import EventStore
from eventstore.factory import open_store
from policy import load_policy
from services.risk.application.assessment import assess
from services.risk.application.observations import RELEVANT, event_time
from services.risk.application.projections import ALERTS, CODES
from services.risk.domain.health_code import RiskRules

COMPLAINT_FOLDS = (
    "risk.ComplaintFiled.v1",
    "risk.ComplaintResolved.v1",
    "risk.ComplaintRuledUnfounded.v1",
)


def _events(store: EventStore, types: tuple[str, ...]) -> Iterator[tuple[str, str, dict]]:
    after = 0
    while page := store.read_all(after, 1000):
        for record in page:
            after = record.position
            if record.type in types:
                yield (
                    event_time(record.data, record.recorded_at.isoformat()),
                    record.type,
                    record.data,
                )


def replay(
    sources: list[EventStore], risk_source: EventStore, fresh: EventStore, *, rules: RiskRules
) -> int:
    """Folds every relevant event, oldest first, into `fresh`; returns how many."""
    merged = [e for store in sources for e in _events(store, RELEVANT)]
    merged += list(_events(risk_source, COMPLAINT_FOLDS))
    merged.sort(key=lambda e: e[0])
    for at, event_type, data in merged:
        if data.get("merchant_id"):
            with fresh.unit_of_work() as uow:
                assess(
                    uow,
                    data["merchant_id"],
                    as_of=datetime.fromisoformat(at),
                    rules=rules,
                    event=(event_type, data, at),
                )
    return len(merged)


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
