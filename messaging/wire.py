"""The integration-event wire format: what nameko's `@event_handler` consumes.

nameko's EventDispatcher publishes to the durable topic exchange `<service>.events` with the
event type as routing key and a JSON body; its handlers bind durable queues named
`evt-<source>-<event type>--<service>.<method>`. The relay publishes the same way, so any nameko
handler receives relayed events unchanged, and the body is the `IntegrationEvent` payload.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from eventstore.records import RecordedEvent
from messaging import correlation

CONTENT_TYPE = "application/json"


def exchange_name(service: str) -> str:
    return f"{service}.events"


def nameko_queue_name(source_service: str, event_type: str, service: str, method: str) -> str:
    """The queue nameko declares for a SERVICE_POOL `@event_handler`."""
    return f"evt-{source_service}-{event_type}--{service}.{method}"


@dataclass(frozen=True)
class IntegrationEvent:
    """A stored event as other services see it."""

    event_id: str
    type: str
    source: str
    stream: str
    version: int
    position: int
    recorded_at: str
    data: dict
    metadata: dict

    @classmethod
    def from_recorded(cls, source: str, event: RecordedEvent) -> IntegrationEvent:
        return cls(
            event_id=event.id,
            type=event.type,
            source=source,
            stream=event.stream,
            version=event.version,
            position=event.position,
            recorded_at=event.recorded_at.isoformat(),
            data=event.data,
            metadata=event.metadata,
        )

    @classmethod
    def from_payload(cls, payload: dict) -> IntegrationEvent:
        return cls(**{name: payload[name] for name in cls.__dataclass_fields__})

    def payload(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @property
    def occurred_at(self) -> datetime:
        return datetime.fromisoformat(self.recorded_at)


def encode_body(event: IntegrationEvent) -> bytes:
    return json.dumps(event.payload(), separators=(",", ":"), ensure_ascii=False).encode()


def message_headers(event: IntegrationEvent) -> dict:
    """nameko context headers: the call-id stack traces the event back to its source.

    The correlation id comes from a client: it travels as a header only when it is a valid
    token (`messaging.correlation`), so an event stored before ids were checked still
    publishes, with its id in the body's metadata only."""
    headers = {
        "nameko.call_id_stack": [f"{event.source}.relay.{event.event_id}"],
        "event_id": event.event_id,
        "event_type": event.type,
    }
    correlation_id = event.metadata.get("correlation_id")
    if correlation.is_valid(correlation_id):
        headers["nameko.correlation_id"] = correlation_id
    return headers
