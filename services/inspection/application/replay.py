"""Rebuilding the inspection service's roster, plan and inspection views from position 0 of
its own store.

Every event is copied into a fresh store (same stream, id, version and data) and projected
exactly as the live service projects it, oldest first. Two views are not projections of
events and are copied as they are, first: `plan_secrets` (an undrawn plan's seed, which no
event may carry before the draw) and `plan_eligible` (the eligible list a plan committed to,
too large for an event; its hash is in PlanCommitted). The classification's own events are
copied too; its views are rebuilt by its reclassification. Operators use it after a change of
a projection; the tests use it to show that the live views are what the events say.

    python -m services.inspection.application.replay INSPECTION_URL FRESH_URL
"""

from __future__ import annotations

import argparse
import sys

from eventstore import EventStore, NewEvent
from eventstore.factory import open_store
from policy import load_policy
from services.inspection.application import projections
from services.inspection.application.store import (
    BY_INSPECTOR,
    BY_MERCHANT,
    BY_PLAN,
    FINDINGS,
    INSPECTIONS,
    INSPECTORS,
    MERCHANT_IDS,
    PLANS,
    PUBLISHED,
    SECRET_VIEWS,
)
from services.inspection.domain.rules import InspectionRules

PROJECTED = (
    PLANS,
    INSPECTORS,
    INSPECTIONS,
    BY_INSPECTOR,
    BY_MERCHANT,
    BY_PLAN,
    MERCHANT_IDS,
    FINDINGS,
    PUBLISHED,
)
"""Every view the projections write: a replay rebuilds them exactly."""


def _all_views(store: EventStore, collection: str) -> list[tuple[str, dict]]:
    found: list[tuple[str, dict]] = []
    after = ""
    while page := store.list_views(collection, after, 1000):
        found += page
        after = page[-1][0]
    return found


def replay(source: EventStore, fresh: EventStore, *, rules: InspectionRules) -> int:
    """Copies and projects every event of `source` into `fresh`; returns how many."""
    with fresh.unit_of_work() as uow:
        for collection in SECRET_VIEWS:
            for key, doc in _all_views(source, collection):
                uow.put_view(collection, key, doc)
    count = 0
    for record in source.iter_all(0):
        with fresh.unit_of_work() as uow:
            uow.append(
                record.stream,
                [NewEvent(record.type, record.data, record.metadata, record.id)],
                record.version - 1,
            )
            projections.project(uow, record.type, record.data, record.id, rules)
        count += 1
    return count


def views(store: EventStore) -> dict[str, list[tuple[str, dict]]]:
    return {name: _all_views(store, name) for name in PROJECTED}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inspection_url")
    parser.add_argument("fresh_url")
    parser.add_argument("--policy", default=None)
    args = parser.parse_args()
    source, fresh = open_store(args.inspection_url), open_store(args.fresh_url)
    try:
        rules = InspectionRules.from_policy(load_policy(args.policy).inspection)
        count = replay(source, fresh, rules=rules)
        rebuilt = views(fresh)
        print(
            f"{count} events replayed: {len(rebuilt[PLANS])} plans, "
            f"{len(rebuilt[INSPECTIONS])} inspections"
        )
    finally:
        source.close()
        fresh.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
