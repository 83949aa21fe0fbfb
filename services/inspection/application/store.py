"""The inspection service's store: its codec (every event class of domain/events.py), its
streams and views, and `commit`, which appends and projects in one unit of work.

Streams: `inspector-<id>` (enrolment), `plan-<id>` (commitment, draw, raised visits),
`inspection-<id>` (data check, check-ins, result, rectification, publication).
Views that are not projections of events (so a replay copies them, see replay.py):
`plan_secrets` (the seed until the draw) and `plan_eligible` (the eligible list committed to).
"""

from __future__ import annotations

from collections.abc import Sequence

from eventstore import NO_STREAM, ConcurrencyError, NewEvent, UnitOfWork
from eventstore.codec import EventCodec
from services.domain_errors import Conflict
from services.inspection.domain import events as _events
from services.inspection.domain.events import PLAN_EVENTS

EVENT_CLASSES = tuple(
    value
    for value in vars(_events).values()
    if isinstance(value, type) and isinstance(getattr(value, "TYPE", None), str)
)
"""Every event of the service, the classification's too."""
assert set(PLAN_EVENTS) <= set(EVENT_CLASSES)
CODEC = EventCodec(EVENT_CLASSES)

INSPECTORS = "inspectors"
PLANS = "plans"
PLAN_SECRETS = "plan_secrets"
PLAN_ELIGIBLE = "plan_eligible"
INSPECTIONS = "inspections"
BY_INSPECTOR = "inspections_by_inspector"
BY_MERCHANT = "inspections_by_merchant"
BY_PLAN = "inspections_by_plan"
MERCHANT_IDS = "merchant_inspection_ids"
"""merchant -> {ids}: every inspection of the merchant, for the projections' merge."""
FINDINGS = "inspector_findings"
"""`<inspector>/<merchant>/<year>` -> {findings: [...]}: the e码查 block's input."""
PUBLISHED = "published_results"
"""`<merchant>/<published at>/<inspection>` -> the public result."""
PUBLISH_DUE = "inspection_publish_due"
"""`<day>|<inspection>` -> {}: a recorded result not published yet, keyed by the (China) day
its publication falls due (`publish_within_working_days` working days after the result); the
row goes when it is published. The timer reads only the rows due by today."""
BY_YEAR = "inspections_by_year"
"""The year's figures by a per-(China-)year prefix: `<year>/visit/<inspection>` -> {tier,
merchant_id, trip} at its first check-in, `<year>/data/<inspection>` -> {tier} at its data
check, `<year>/due/<rectification due>/<inspection>` -> {} while a minor finding's
rectification is not accepted (the year is the deadline's)."""
BY_EVIDENCE = "inspections_by_evidence"
"""`<evidence sha256>/<inspection>` -> {id}: the inspections whose rectification names the
file (who may read it)."""
SECRET_VIEWS = (PLAN_SECRETS, PLAN_ELIGIBLE)


def inspector_stream(inspector_id: str) -> str:
    return f"inspector-{inspector_id}"


def plan_stream(plan_id: str) -> str:
    return f"plan-{plan_id}"


def inspection_stream(inspection_id: str) -> str:
    return f"inspection-{inspection_id}"


def append(
    uow: UnitOfWork,
    stream: str,
    events: Sequence[object],
    expected_version: int,
    metadata: dict | None,
    ids: Sequence[str] | None = None,
) -> list[NewEvent]:
    """Encodes and appends `events` (with the given event ids, if any); returns them."""
    encoded = [CODEC.encode(e, metadata or {}) for e in events]
    if ids is not None:
        encoded = [
            NewEvent(e.type, e.data, e.metadata, event_id)
            for e, event_id in zip(encoded, ids, strict=True)
        ]
    try:
        uow.append(stream, encoded, expected_version)
    except ConcurrencyError:
        raise Conflict("changed meanwhile; retry", "version_conflict") from None
    return encoded


__all__ = ["NO_STREAM", "append"]
