"""Rebuilding the risk service's codes, alerts (with their steps, assignments and queue
keys) and ratings from position 0 of the platform's events.

The merchant, escrow and risk stores are read whole and merged in event time; each event is
folded and assessed exactly as the live consumers do, into a fresh store: the escrow's
confirmed spends become the `confirmed_spends` view again, and each rating (a fact of the
risk service's own, its text encrypted) is copied into the fresh store, same stream, id and
data, and projected into the rating views. An alert a code change opens gets the id the live
service gave it (same merchant, same opening time), an escalated complaint's and a
reconciliation difference's theirs by construction, so the regulator's steps and assignments
(the risk service's own facts) are copied over onto them and projected. Operators use it to
rebuild risk after a change of policy or of an indicator; the tests use it to show that the
live service's codes, alerts and rating views are what the events say.

    python -m services.risk.application.replay MERCHANT_URL ESCROW_URL RISK_URL FRESH_URL
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime

from eventstore import EventStore, NewEvent, RecordedEvent
from eventstore.factory import open_store
from policy import load_policy
from services.risk.application import alerts, projections, ratings
from services.risk.application.assessment import assess
from services.risk.application.commands import observe_event
from services.risk.application.observations import RELEVANT, event_time
from services.risk.application.projections import ALERTS, CODES, QUEUE
from services.risk.application.store import CODEC
from services.risk.domain.complaints import Alert
from services.risk.domain.health_code import RiskRules

COMPLAINT_FOLDS = (
    "risk.ComplaintFiled.v1",
    "risk.ComplaintResolved.v1",
    "risk.ComplaintRuledUnfounded.v1",
)


RATED = "risk.SpendRated.v1"
ESCALATED = "risk.ComplaintEscalated.v1"
OPENED = "risk.AlertOpened.v1"
ALERT_FOLDS = ("risk.AlertStepRecorded.v1", "risk.AlertAssigned.v1")
"""The regulator's own facts about an alert, in the alert's stream."""


class AlertIds:
    """The ids the live service gave the alerts code changes opened, by merchant: the one
    opened at the same time, else the merchant's next unused one, else a new id."""

    def __init__(self, risk_source: EventStore):
        self.unused: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for _, record in _events(risk_source, (OPENED,)):
            if record.stream.startswith("health-"):
                data = record.data
                self.unused[data["merchant_id"]].append((data["opened_at"], data["alert_id"]))

    def at(self, merchant_id: str, at: str) -> Callable[[], str]:
        def new_id() -> str:
            unused = self.unused.get(merchant_id) or []
            found = next((i for i, (when, _) in enumerate(unused) if when == at), 0)
            if not unused:
                return f"al-{uuid.uuid4().hex[:20]}"
            return unused.pop(found)[1]

        return new_id


def _events(store: EventStore, types: tuple[str, ...]) -> Iterator[tuple[str, RecordedEvent]]:
    after = 0
    while page := store.read_all(after, 1000):
        for record in page:
            after = record.position
            if record.type in types:
                at = record.data.get("at") if record.type in ALERT_FOLDS else None
                yield at or event_time(record.data, record.recorded_at.isoformat()), record


def _copy_alert_fact(uow, record: RecordedEvent) -> None:
    """A step or assignment onto the replayed alert: same stream, id and data, projected."""
    if uow.get_view(ALERTS, record.data["alert_id"]) is None:
        return  # an alert the events no longer open
    uow.append(
        record.stream,
        [NewEvent(record.type, record.data, record.metadata, record.id)],
        record.version - 1,
    )
    projections.project(uow, Alert(record.data["alert_id"]), [CODEC.decode(record)])


def replay(
    sources: list[EventStore], risk_source: EventStore, fresh: EventStore, *, rules: RiskRules
) -> int:
    """Folds every relevant event, oldest first, into `fresh`; returns how many."""
    merged = [e for store in sources for e in _events(store, (*RELEVANT, alerts.RECONCILED))]
    merged += list(_events(risk_source, (*COMPLAINT_FOLDS, RATED, ESCALATED, *ALERT_FOLDS)))
    merged.sort(key=lambda e: e[0])
    ids = AlertIds(risk_source)
    for at, record in merged:
        merchant_id = record.data.get("merchant_id", "")
        with fresh.unit_of_work() as uow:
            if record.type in ALERT_FOLDS:
                _copy_alert_fact(uow, record)
            elif record.type == RATED:
                # The rating's own stream, so the fresh store answers with its text too.
                uow.append(
                    record.stream,
                    [NewEvent(record.type, record.data, record.metadata, record.id)],
                    record.version - 1,
                )
                ratings.project_rating(uow, record.data)
            elif record.type in (*COMPLAINT_FOLDS, ESCALATED):
                assess(
                    uow,
                    merchant_id,
                    as_of=datetime.fromisoformat(at),
                    rules=rules,
                    event=(record.type, record.data, at),
                    new_id=ids.at(merchant_id, at),
                )
                if record.type == ESCALATED:  # as the live complaint commit does
                    alerts.open_for_escalation(uow, record.data)
            else:  # as the live consumer of merchant and escrow events does
                observe_event(
                    uow, record.type, record.data, at, rules=rules, new_id=ids.at(merchant_id, at)
                )
    return len(merged)


def rating_views(store: EventStore) -> dict[str, list]:
    """Every rating view and the confirmed spends, as stored: a replay rebuilds them exactly."""
    return {
        name: store.list_views(name, "", 1_000_000)
        for name in (ratings.SPENDS, ratings.BY_MERCHANT, ratings.TOTALS)
    }


def alert_views(store: EventStore) -> dict[str, list]:
    """Every alert with its steps and assignments, and the queue: a replay rebuilds them."""
    return {name: store.list_views(name, "", 1_000_000) for name in (ALERTS, QUEUE)}


def codes_and_alerts(store: EventStore) -> tuple[dict, list]:
    """What the events decided: each merchant's code and why, and every alert opened."""
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
