"""The event-store port and its adapters. Nothing here connects at import time."""
from eventstore.errors import (
    AlreadyProcessed,
    ConcurrencyError,
    EventStoreError,
    StoreUnavailable,
)
from eventstore.port import EventStore, UnitOfWork
from eventstore.records import NO_STREAM, NewEvent, RecordedEvent, Tracking
from eventstore.upcasting import UpcasterChain

__all__ = [
    "AlreadyProcessed",
    "ConcurrencyError",
    "EventStore",
    "EventStoreError",
    "NO_STREAM",
    "NewEvent",
    "RecordedEvent",
    "StoreUnavailable",
    "Tracking",
    "UnitOfWork",
    "UpcasterChain",
]
