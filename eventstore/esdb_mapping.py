"""How the EventStoreDB adapter maps the port onto EventStoreDB: stream names, versions,
deterministic ids and event documents. Pure rules, unit-tested without a server."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from esdbclient import NewEvent as EsdbNewEvent
from esdbclient import StreamState
from esdbclient.exceptions import WrongCurrentVersion

from eventstore.errors import EventStoreError
from eventstore.records import NewEvent
from eventstore.sql import encode_json

INTENT = "eventstore.TrackingIntent.v1"
ABORTED = "eventstore.TrackingAborted.v1"
POSITION = "eventstore.ConsumerPosition.v1"
ID_RECORD = "eventstore.EventIdRecorded.v1"
ID_RECORDS = uuid.UUID("6f1c9a52-3a47-4a0e-9a53-2f4f3f0d7c11")
NAMESPACE = re.compile(r"[A-Za-z0-9_]+")
MAX_ROUNDS = 20
KEEP_POSITIONS = 16
UNKNOWN_TIME = datetime.fromtimestamp(0, UTC)
_LAST_POSITION = re.compile(r"Stream position of last event is (\d+)")


def esdb_revision(expected_version: int) -> int | StreamState:
    """The port's expected version as esdbclient's `current_version`."""
    return StreamState.NO_STREAM if expected_version == 0 else expected_version - 1


def actual_version(error: WrongCurrentVersion) -> int | None:
    """The stream's port version named in esdbclient's message, if it names one."""
    text = str(error)
    found = _LAST_POSITION.search(text)
    if found:
        return int(found.group(1)) + 1
    return 0 if "does not exist" in text else None


def esdb_stream(namespace: str, stream: str) -> str:
    return f"{namespace}-{stream}"


def port_stream(namespace: str, name: str) -> str:
    prefix = f"{namespace}-"
    if not name.startswith(prefix):
        raise EventStoreError(f"stream {name!r} is outside namespace {namespace!r}")
    return name[len(prefix) :]


def namespace_filter(namespace: str) -> str:
    """Stream-name regex (esdbclient anchors it) for this namespace's own streams only."""
    return f"{namespace}-[^$].*"


def id_record_event_id(event_id: str, stream: str, version: int) -> uuid.UUID:
    """Same id for the same (event, slot): re-recording after a replay is idempotent."""
    return uuid.uuid5(ID_RECORDS, f"{event_id}\n{stream}\n{version}")


def check_append(stream: str, events: Sequence[NewEvent], expected_version: int) -> None:
    if not isinstance(expected_version, int) or expected_version < 0:
        raise ValueError("expected_version must be a stream version (0 for a new stream)")
    if not events:
        raise ValueError("append needs at least one event")
    if not isinstance(stream, str) or not stream or stream.startswith("$"):
        raise ValueError(f"stream name {stream!r} must be non-empty and not start with '$'")
    for event in events:
        uuid.UUID(event.id)  # ESDB ids are UUIDs; ValueError otherwise
        if event.type.startswith("$"):
            raise ValueError(f"event type {event.type!r} would be a system event")


def json_bytes(value: Any) -> bytes:
    return encode_json(value).encode()


def event_doc(event: NewEvent) -> dict:
    # Copied now, as SQL encodes at append time: later changes to the dicts must not leak in.
    return json.loads(
        encode_json(
            {
                "id": str(uuid.UUID(event.id)),
                "type": event.type,
                "data": event.data,
                "metadata": event.metadata,
            }
        )
    )


def esdb_event(doc: dict) -> EsdbNewEvent:
    return EsdbNewEvent(
        type=doc["type"],
        data=json_bytes(doc["data"]),
        metadata=json_bytes(doc["metadata"]),
        id=uuid.UUID(doc["id"]),
    )
