"""What the parent and the child of eventstore.esdb_subprocess exchange: one JSON line per
message, errors that keep their type and fields, events with ISO-format times."""

from __future__ import annotations

import json
from typing import Any

from eventstore.errors import AlreadyProcessed, ConcurrencyError, EventStoreError, StoreUnavailable
from eventstore.records import NewEvent, RecordedEvent

STORE_KINDS = {
    "sqlite": ("eventstore.sqlite", "SqliteEventStore"),
    "postgres": ("eventstore.postgres", "PostgresEventStore"),
    "esdb": ("eventstore.esdb", "EsdbEventLog"),
}
VIEW_KINDS = frozenset({"sqlite", "postgres"})
"""The kinds that keep views beside their events (eventstore.port.EventStore)."""
ERROR_TYPES: dict[str, type[Exception]] = {
    cls.__name__: cls
    for cls in (
        ConcurrencyError,
        AlreadyProcessed,
        StoreUnavailable,
        EventStoreError,
        ValueError,
        TypeError,
        NotImplementedError,
    )
}


def dumps_line(value: Any) -> bytes:
    # JSON escapes newlines inside strings, so one message is exactly one line.
    return json.dumps(value, separators=(",", ":")).encode() + b"\n"


def encode_error(exc: BaseException) -> dict:
    fields: dict = {}
    if isinstance(exc, ConcurrencyError):
        fields = {"stream": exc.stream, "expected": exc.expected, "actual": exc.actual}
    elif isinstance(exc, AlreadyProcessed):
        fields = {"consumer": exc.consumer, "event_id": exc.event_id}
    for cls in type(exc).__mro__:
        if ERROR_TYPES.get(cls.__name__) is cls:
            return {"type": cls.__name__, "message": str(exc), "fields": fields}
    return {"type": "EventStoreError", "message": f"{type(exc).__name__}: {exc}", "fields": {}}


def snapshot(value: Any) -> Any:
    """A JSON copy, taken when the caller hands the value over (as SQL encodes it then), so
    later changes to the caller's dicts do not leak into a buffered unit of work."""
    return json.loads(json.dumps(value))


def decode_error(error: dict) -> Exception:
    name, fields = error.get("type"), error.get("fields")
    if name == "ConcurrencyError" and fields:
        return ConcurrencyError(**fields)
    if name == "AlreadyProcessed" and fields:
        return AlreadyProcessed(**fields)
    return ERROR_TYPES.get(str(name), EventStoreError)(error.get("message", ""))


def event_to_wire(event: RecordedEvent) -> dict:
    return {
        "id": event.id,
        "type": event.type,
        "data": event.data,
        "metadata": event.metadata,
        "stream": event.stream,
        "version": event.version,
        "position": event.position,
        "recorded_at": event.recorded_at.isoformat(),
    }


def new_event_to_wire(event: NewEvent) -> dict:
    return {"id": event.id, "type": event.type, "data": event.data, "metadata": event.metadata}
