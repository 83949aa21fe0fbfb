"""The values that cross the event-store port."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

NO_STREAM = 0
"""`expected_version` for a stream that must not exist yet. Versions start at 1."""


@dataclass(frozen=True)
class NewEvent:
    """An event about to be appended; `type` is a stable versioned name (shop.Sold.v1)."""

    type: str
    data: dict
    metadata: dict = field(default_factory=dict)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass(frozen=True)
class RecordedEvent:
    id: str
    type: str
    data: dict
    metadata: dict
    stream: str
    version: int
    position: int
    """Global order across every stream of the store; strictly increasing, never reused."""
    recorded_at: datetime


@dataclass(frozen=True)
class ParkedEvent:
    """An event a position-following consumer (a relay) stepped over, and why."""

    position: int
    event_id: str
    type: str
    error: str
    parked_at: datetime | None = None


@dataclass(frozen=True)
class Tracking:
    """That `consumer` handled the event `event_id` (at `position` in its source, if ordered)."""

    consumer: str
    event_id: str
    position: int | None = None
