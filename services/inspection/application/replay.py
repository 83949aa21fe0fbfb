"""Rebuilding the inspection service from position 0: its roster, plans and inspections from
its own store, and each merchant's classification from the merchant, escrow and risk events it
consumed, into a fresh store.

What is read, and in which order:
* The merchant, escrow and risk stores whole, and the inspection store whole. Each store's
  events keep their position order (the order the live service received them in: each
  producer's relay publishes in that order), and the four sequences are merged by event time,
  taken as the live service takes it: the event's `at` when it has one, else its recorded time
  (service.py `_observe`; the inspection's own events all carry `at`).
* Ties go to the merchant's events, then the escrow's, then the risk service's, then the
  inspection's own. That is the platform's causal order (the escrow sells cards of approved
  merchants, risk reacts to both, the inspection to all three), and an own decision (a
  white-listing, a check-in) can only rest on what the service had already consumed, so at
  one instant the consumed event goes first. Folding is keyed and time-stamped by each event's
  own time, so the order decides only sticky outcomes (a closed merchant, a lapsed
  white-listing) and which intermediate ClassificationChanged are written.

What is done with each:
* A merchant, escrow or risk event is folded by `classifications.observe` at its time, with
  the consumer's dedupe record (`inspection.on_<source>_event`, event id), so the fresh store,
  once live, acks a redelivery of an event the replay already folded.
* An own event is copied into the fresh store (same stream, id, version and data) and
  projected by `projections.project`, which also folds the results, check-ins and accepted
  rectifications into the classification, as the live commands do in their unit of work.
* A regulator's WhiteListChanged is copied (same id and data) by the same code as the live
  command (`classifications.white_list`), without its checks (the live service made them),
  onto the merchant reclassified at its time first, as the live timer had swept it.
* ClassificationChanged is NOT copied: the fold derives it again. Its ids cannot be the live
  ones, nor, in general, its count and times: the live timer also reclassifies every minute, so
  a change that time alone makes (180 green days reach grade A) is written at the first sweep
  live, and at the merchant's next event or the final sweep here. The fresh classification
  streams may thus hold fewer events, at other times, and the views' `version` (the stream's
  length) differ; everything else the views say is the same (see `views`).
* `plan_secrets` and `plan_eligible` (an undrawn plan's seed, which no event may carry before
  the draw, and the eligible list committed to, whose hash PlanCommitted carries) are not
  projections of events: they are copied first, as they are.

Last, `reclassify_all` at the replay's `now`, so the time-driven rules stand as in a live
store swept at that moment. Time alone only improves a classification (reds, yellow days and
upheld complaints age out of their windows, green streaks grow, findings are repaired), so a
merchant left unswept between two of its events reaches the same class, grade and tier at
the second one, and no skipped sweep could have lapsed a white-listing. Known differences:
where the live delivery of one producer's event lagged behind another's later event, the
replay keeps the event-time order; and facts a live sweep pruned (older than every window) and
a later event names again (a complaint resolved over a year after it was filed and answered)
start again from that event live, and keep their older dates here.

Operators use it after a change of a projection or of the classification; the tests use it to
show that the live views are what the events say.

    python -m services.inspection.application.replay \\
        MERCHANT_URL ESCROW_URL RISK_URL INSPECTION_URL FRESH_URL [--now ISO] [--policy FILE]
"""

from __future__ import annotations

import argparse
import heapq
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from eventstore import EventStore, NewEvent, RecordedEvent, Tracking
from eventstore.factory import open_store
from policy import load_policy
from services import clock
from services.inspection.application import classifications, projections
from services.inspection.application.store import (
    BY_EVIDENCE,
    BY_INSPECTOR,
    BY_MERCHANT,
    BY_PLAN,
    BY_YEAR,
    FINDINGS,
    INSPECTIONS,
    INSPECTORS,
    MERCHANT_IDS,
    PLANS,
    PUBLISH_DUE,
    PUBLISHED,
    SECRET_VIEWS,
)
from services.inspection.domain.events import ClassificationChanged, WhiteListChanged
from services.inspection.domain.rules import InspectionRules

SOURCES = ("merchant", "escrow", "risk")
"""The producers whose events the classification folds, in the order ties are taken."""
CONSUMERS = {source: f"inspection.on_{source}_event" for source in SOURCES}
"""The live consumers' names (messaging.consumer: `<service>.<handler>`, service.py)."""
DERIVED = ClassificationChanged.TYPE
LISTED = WhiteListChanged.TYPE

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
    PUBLISH_DUE,
    BY_YEAR,
    BY_EVIDENCE,
)
"""Every view the plan and inspection projections write."""
CLASSIFIED = (
    classifications.FACTS,
    classifications.CLASSIFICATIONS,
    classifications.CARDS,
    classifications.REFERENCES,
    classifications.REFUNDS_BY_DAY,
)
"""Every view the classification's fold writes."""
ALL_VIEWS = (*PROJECTED, *CLASSIFIED, *SECRET_VIEWS)


@dataclass
class Replayed:
    """What a replay read and did."""

    source_events: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0))
    own_events: int = 0
    derived_skipped: int = 0
    """Live ClassificationChanged events, not copied: the fold wrote its own."""
    white_listings_skipped: int = 0
    """WhiteListChanged of a merchant no replayed event named (none, when the stores match)."""
    reclassified: dict = field(default_factory=dict)


def _moment(at: str) -> datetime:
    when = datetime.fromisoformat(at)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def event_time(record: RecordedEvent) -> str:
    """The time the live service folds an event at (service.py `_observe`)."""
    return record.data.get("at") or record.recorded_at.isoformat()


def _timed(origin: str, store: EventStore) -> Iterator[tuple[datetime, str, RecordedEvent]]:
    for record in store.iter_all(0):
        yield _moment(event_time(record)), origin, record


def _all_views(store: EventStore, collection: str) -> list[tuple[str, dict]]:
    found: list[tuple[str, dict]] = []
    after = ""
    while page := store.list_views(collection, after, 1000):
        found += page
        after = page[-1][0]
    return found


def replay(
    sources: Mapping[str, EventStore],
    inspection: EventStore,
    fresh: EventStore,
    *,
    rules: InspectionRules,
    now: datetime | None = None,
) -> Replayed:
    """Rebuilds `fresh` from the `sources` (by name: merchant, escrow, risk) and the live
    `inspection` store, then reclassifies every merchant at `now` (default: the platform's
    clock, services/clock.py, so a demo store is swept at its demo time)."""
    done = Replayed()
    with fresh.unit_of_work() as uow:
        for collection in SECRET_VIEWS:
            for key, doc in _all_views(inspection, collection):
                uow.put_view(collection, key, doc)
    merged = heapq.merge(
        *(_timed(name, sources[name]) for name in SOURCES),
        _timed("inspection", inspection),
        key=lambda timed: timed[0],  # equal times: the earlier sequence first (SOURCES order)
    )
    for _, origin, record in merged:
        with fresh.unit_of_work() as uow:
            if origin != "inspection":
                uow.track(Tracking(CONSUMERS[origin], record.id))
                classifications.observe(
                    uow, record.type, record.data, event_time(record), rules, views=fresh
                )
                done.source_events[origin] += 1
            elif record.type == DERIVED:
                done.derived_skipped += 1
            elif record.type == LISTED:
                done.white_listings_skipped += not _white_list(uow, record, rules)
            else:
                uow.append(
                    record.stream,
                    [NewEvent(record.type, record.data, record.metadata, record.id)],
                    record.version - 1,
                )
                projections.project(uow, record.type, record.data, record.id, rules)
                done.own_events += 1
    done.reclassified = classifications.reclassify_all(fresh, rules, now or clock.now())
    return done


def _white_list(uow, record: RecordedEvent, rules: InspectionRules) -> bool:
    """The regulator's white-listing onto the merchant's classification as of its time: the
    live timer had swept it within the minute, so time-driven changes (the 180 green days that
    made it tier A) are brought in first, as that sweep wrote them."""
    merchant_id = record.data["merchant_id"]
    facts_doc = uow.get_view(classifications.FACTS, merchant_id)
    if facts_doc is None:
        return False
    classifications.reclassify(uow, facts_doc, _moment(record.data["at"]), rules)
    doc = uow.get_view(classifications.CLASSIFICATIONS, merchant_id)
    facts_doc = uow.get_view(classifications.FACTS, merchant_id)
    assert doc is not None and facts_doc is not None, "written by reclassify"
    event = classifications.CODEC.decode(record)
    classifications.white_list(uow, doc, facts_doc, event, record.metadata, record.id)
    return True


def views(store: EventStore) -> dict[str, list[tuple[str, dict]]]:
    """Every view of the service, each classification without its `version`: the length of
    the merchant's classification stream, which a replay writes anew (see the docstring)."""
    found = {name: _all_views(store, name) for name in ALL_VIEWS}
    found[classifications.CLASSIFICATIONS] = [
        (key, {k: v for k, v in doc.items() if k != "version"})
        for key, doc in found[classifications.CLASSIFICATIONS]
    ]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in (*SOURCES, "inspection", "fresh"):
        parser.add_argument(f"{name}_url")
    parser.add_argument(
        "--now", default=None, help="ISO time of the final sweep (default: the platform clock)"
    )
    parser.add_argument("--policy", default=None)
    args = parser.parse_args()
    stores = {
        name: open_store(getattr(args, f"{name}_url")) for name in (*SOURCES, "inspection", "fresh")
    }
    try:
        rules = InspectionRules.from_policy(load_policy(args.policy).inspection)
        done = replay(
            {name: stores[name] for name in SOURCES},
            stores["inspection"],
            stores["fresh"],
            rules=rules,
            now=_moment(args.now) if args.now else None,
        )
        rebuilt = views(stores["fresh"])
        print(
            f"{sum(done.source_events.values())} consumed and {done.own_events} own events "
            f"replayed ({done.derived_skipped} classification changes derived again, "
            f"{done.white_listings_skipped} white-listings of unknown merchants left out): "
            f"{len(rebuilt[classifications.CLASSIFICATIONS])} merchants classified, "
            f"{len(rebuilt[PLANS])} plans, {len(rebuilt[INSPECTIONS])} inspections"
        )
    finally:
        for store in stores.values():
            store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
