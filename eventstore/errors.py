import sqlite3


class EventStoreError(Exception):
    """Base class of the event store's own errors."""


class ConcurrencyError(EventStoreError):
    """The stream is not at the expected version: someone else appended first."""

    def __init__(self, stream: str, expected: int, actual: int):
        super().__init__(f"stream {stream!r} is at version {actual}, expected {expected}")
        self.stream = stream
        self.expected = expected
        self.actual = actual


class AlreadyProcessed(EventStoreError):
    """The consumer has already recorded this event id: its effects are already stored."""

    def __init__(self, consumer: str, event_id: str):
        super().__init__(f"{consumer} already processed event {event_id}")
        self.consumer = consumer
        self.event_id = event_id


class StoreUnavailable(EventStoreError):
    """The backing database did not answer in time."""


# SQLite's codes for a database that is busy, locked, unreadable, full or cannot be opened:
# failures of the store that pass, not of the statement (a missing table is a bug: not here).
_SQLITE_PASSING = {5, 6, 10, 13, 14}  # BUSY, LOCKED, IOERR, FULL, CANTOPEN


def store_unavailable(exc: BaseException) -> bool:
    """Whether `exc` is the store being away (locked, disconnected, shutting down, full)
    rather than the work being wrong: work that failed so is worth trying again as it is."""
    if isinstance(exc, StoreUnavailable):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in _SQLITE_PASSING
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(exc, psycopg.OperationalError)
