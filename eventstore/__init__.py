"""The event-store ports (an event log, a view store, and both in one) and their adapters.
Nothing here connects at import time."""

from eventstore.errors import (
    AlreadyProcessed,
    ConcurrencyError,
    EventStoreError,
    StoreUnavailable,
)
from eventstore.port import (
    EventLog,
    EventStore,
    LogUnitOfWork,
    UnitOfWork,
    ViewStore,
    ViewUnitOfWork,
)
from eventstore.records import NO_STREAM, NewEvent, RecordedEvent, Tracking
from eventstore.upcasting import UpcasterChain

__all__ = [
    "AlreadyProcessed",
    "ConcurrencyError",
    "EventLog",
    "EventStore",
    "EventStoreError",
    "LogUnitOfWork",
    "NO_STREAM",
    "NewEvent",
    "RecordedEvent",
    "StoreUnavailable",
    "Tracking",
    "UnitOfWork",
    "UpcasterChain",
    "ViewStore",
    "ViewUnitOfWork",
]
