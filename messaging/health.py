"""What a service reports about its own store and its relay, for the gateway's /healthz.

The relay is degraded, with each reason said, when it is more than the policy's
`[relay] max_lag_events` behind, when its oldest unpublished event is older than
`max_age_seconds`, or when it has parked any event. Its consumers are degraded when any of
their queues has parked messages (messaging.consumer)."""

from __future__ import annotations

from datetime import UTC, datetime

from eventstore.port import EventStore
from policy import RelayRules


def _parked(store: EventStore, relay: str) -> int:
    try:
        return store.count_parked(relay)
    except NotImplementedError:  # a store that cannot park never has parked events
        return 0


def relay_problems(
    lag: int, age_seconds: int, parked: int, service: str, rules: RelayRules
) -> list[str]:
    problems = []
    if lag > rules.max_lag_events:
        problems.append(f"{lag} events not yet published (limit {rules.max_lag_events})")
    if age_seconds > rules.max_age_seconds:
        problems.append(
            f"the oldest unpublished event was recorded {age_seconds} s ago"
            f" (limit {rules.max_age_seconds} s)"
        )
    if parked:
        problems.append(
            f"{parked} event(s) parked: python -m platformrun.park list --service {service}"
        )
    return problems


def store_health(store: EventStore, service: str, rules: RelayRules) -> dict:
    relay = f"relay:{service}"
    try:
        head = store.head_position()
        relayed = store.position(relay)
        oldest = store.read_all(relayed, 1)
        parked = _parked(store, relay)
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
        return {"status": "down", "store": f"error: {type(exc).__name__}"}
    age = max(0, int((datetime.now(UTC) - oldest[0].recorded_at).total_seconds())) if oldest else 0
    problems = relay_problems(head - relayed, age, parked, service, rules)
    return {
        "status": "ok",
        "store": "ok",
        "head_position": head,
        "relay_position": relayed,
        "relay_lag": head - relayed,
        "relay_age_seconds": age,
        "relay_parked": parked,
        "relay_status": "degraded" if problems else "ok",
        "relay_problems": problems,
    }


def consumer_health(depths: dict[str, int]) -> dict:
    """The parked messages of a service's queues (queue -> how many), for /healthz."""
    problems = [
        f"{count} message(s) parked from {queue}: python -m messaging.park list --queue {queue}"
        for queue, count in sorted(depths.items())
        if count
    ]
    return {
        "consumer_parked": sum(depths.values()),
        "consumer_parked_by_queue": {q: n for q, n in sorted(depths.items()) if n},
        "consumer_status": "degraded" if problems else "ok",
        "consumer_problems": problems,
    }
