"""What a service reports about its own store and its relay, for the gateway's /healthz."""
from __future__ import annotations

from eventstore.port import EventStore


def store_health(store: EventStore, service: str) -> dict:
    try:
        head = store.head_position()
        relayed = store.position(f"relay:{service}")
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
        return {"status": "down", "store": f"error: {type(exc).__name__}"}
    return {
        "status": "ok",
        "store": "ok",
        "head_position": head,
        "relay_position": relayed,
        "relay_lag": head - relayed,
    }
