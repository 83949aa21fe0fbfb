"""One stored event as the AMQP message the relay publishes, checked against its bounds.

An event that cannot be published within them (a body over the policy's size, a header or
property built from event data over its length, a header frame over what the connection
negotiated) is refused here, before the broker sees it, so the relay can park it and go on
instead of having the broker close the connection on every attempt.
"""

from __future__ import annotations

import pika
import pika.frame

from eventstore.records import RecordedEvent
from messaging.wire import CONTENT_TYPE, IntegrationEvent, encode_body, message_headers
from policy import RelayRules


class Unencodable(ValueError):
    """The event cannot become a message within bounds; the text names the bound, never
    the event's data (it is logged and stored with the parked event)."""


# Generous room, in a header frame, for one value's key, type tag and length prefix, and for
# the frame's fixed fields: an estimate under frame_max needs no exact (slower) measure.
OVERHEAD_PER_VALUE = 64


def _checked_size(name: str, value: object, limit: int) -> int:
    """The bytes of a header or property value, after checking each string against `limit`."""
    if isinstance(value, list | tuple):
        return sum(_checked_size(name, item, limit) + OVERHEAD_PER_VALUE for item in value)
    if not isinstance(value, str | bytes):
        return OVERHEAD_PER_VALUE
    size = len(value.encode() if isinstance(value, str) else value)
    if size > limit:
        raise Unencodable(f"{name} is {size} bytes, over the bound of {limit}")
    return size + OVERHEAD_PER_VALUE


def encode(
    service: str, event: RecordedEvent, rules: RelayRules, frame_max: int
) -> tuple[bytes, pika.BasicProperties]:
    """The body and properties for `event` (routing key: its type); raises Unencodable."""
    message = IntegrationEvent.from_recorded(service, event)
    headers = message_headers(message)
    limit = rules.max_header_value_bytes
    estimate = OVERHEAD_PER_VALUE * 4 + sum(  # + content type, encoding, mode, timestamp
        [
            _checked_size(name, value, limit)
            for name, value in (("event type", event.type), ("event id", event.id))
        ]
        + [_checked_size(f"header {name}", value, limit) for name, value in headers.items()]
    )
    body = encode_body(message)
    if len(body) > rules.max_message_bytes:
        raise Unencodable(f"body is {len(body)} bytes, over the limit of {rules.max_message_bytes}")
    properties = pika.BasicProperties(
        content_type=CONTENT_TYPE,
        content_encoding="utf-8",
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=event.id,
        type=event.type,
        timestamp=int(event.recorded_at.timestamp()),
        headers=headers,
    )
    # RabbitMQ closes the whole connection on a header frame over frame_max (a body is split
    # into frames, the header is not), which would hold every event behind this one.
    if frame_max and estimate > frame_max:
        header_frame = len(pika.frame.Header(1, len(body), properties).marshal())
        if header_frame > frame_max:
            raise Unencodable(f"header frame is {header_frame} bytes, over frame_max {frame_max}")
    return body, properties
