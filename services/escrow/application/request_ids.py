"""A request's identity, which makes its second execution a replay of the first.

The gateway sends each money-moving command a `request_id`: derived from the client's
Idempotency-Key and the caller when there is one (a retry after a 5xx is the same request),
else fresh for the HTTP request (a message RabbitMQ redelivers to another escrow replica,
after the first died before acking it, carries the same one). The escrow derives the ids of
what the request creates from it, so a second execution finds the first's card or hold and
appends nothing; what it cannot derive (a refund closes an existing card) it finds by the
`request_id` the first execution's events carry in their metadata.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable

from eventstore import RecordedEvent

METADATA_KEY = "request_id"


def derived_id(prefix: str, request_id: str | None, *scope: str) -> str:
    """`prefix-` and 20 hex digits: the same for one request and scope, random without a
    request id (a caller that sends none gets no replay, as before)."""
    if request_id is None:
        return f"{prefix}-{uuid.uuid4().hex[:20]}"
    digest = hashlib.sha256("\n".join((prefix, *scope, request_id)).encode()).hexdigest()
    return f"{prefix}-{digest[:20]}"


def with_request_id(metadata: dict | None, request_id: str | None) -> dict:
    """The events' metadata, naming the request that recorded them."""
    found = dict(metadata or {})
    if request_id is not None:
        found[METADATA_KEY] = request_id
    return found


def recorded_by(
    history: Iterable[RecordedEvent], request_id: str | None, event_type: str
) -> RecordedEvent | None:
    """The event of `event_type` the request recorded, if it did."""
    if request_id is None:
        return None
    return next(
        (r for r in history if r.type == event_type and r.metadata.get(METADATA_KEY) == request_id),
        None,
    )
