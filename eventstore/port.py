"""The event-store ports: an event log, a view store, and the store that is both at once.

`EventLog` (every adapter: SQLite, PostgreSQL, EventStoreDB) guarantees, and the log
conformance suite checks:
* `append` is all-or-nothing and checks `expected_version` (there is no "any version").
* `read_all` returns events in one global order; a reader paging by position never skips an
  event that commits later with a smaller position.
* Tracking (consumer, event id) is written in the same unit of work as the consumer's appends,
  so a redelivered event is seen as processed exactly when its effects are stored.
* A saved position never moves back.
* Parking is optional: an adapter that cannot park raises NotImplementedError (EventStoreDB).
A log's unit of work may be narrower than SQL's: EventStoreDB writes one stream atomically, so
its unit of work holds one stream's appends and one tracking record.

`ViewStore` keeps read models ("views"): JSON documents by (collection, key), listed in byte
order of the key. Its unit of work makes reads and writes of views atomic.

`EventStore` is both, with ONE unit of work spanning appends, tracking and views: a command
can check a view under the append's lock and write the result with its events (a purchase
checks a consumer's cap this way), and a consumer's view updates commit with its tracking
record. SQLite and PostgreSQL are event stores; EventStoreDB is only an event log, so services
(which write views in every command) run on SQL and `eventstore.factory.open_store` refuses an
esdb:// URL, while the relay and the park CLI, which need only the log, open it with
`open_event_log`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager

from eventstore.records import NewEvent, ParkedEvent, RecordedEvent, Tracking
from eventstore.upcasting import NO_UPCASTERS, UpcasterChain

ViewPage = list[tuple[str, dict]]


# --- units of work ------------------------------------------------------------------------------
class LogUnitOfWork(ABC):
    """Appends and tracking records that commit together."""

    @abstractmethod
    def append(self, stream: str, events: Sequence[NewEvent], expected_version: int) -> int:
        """Appends after `expected_version`; returns the stream's new version."""

    @abstractmethod
    def track(self, tracking: Tracking) -> None:
        """Records that the consumer handled the event; raises AlreadyProcessed if it had."""


class ViewUnitOfWork(ABC):
    """Reads and writes of views that commit together; a read sees this unit's own writes."""

    @abstractmethod
    def get_view(self, collection: str, key: str) -> dict | None: ...

    @abstractmethod
    def put_view(self, collection: str, key: str, doc: dict) -> None: ...

    @abstractmethod
    def delete_view(self, collection: str, key: str) -> None: ...

    def prefetch_views(self, collection: str, keys: Sequence[str]) -> None:
        """A hint that `get_view` will read these keys: a unit may read them at once now."""
        return None  # a unit that reads one view at a time takes no hint


class UnitOfWork(LogUnitOfWork, ViewUnitOfWork, ABC):
    """One atomic transaction: appends, tracking records and view writes commit together."""

    def lock_writes(self) -> None:
        """Takes now the store-wide lock an append takes, held until the unit ends: every
        unit that appends waits, and what the store's readers see stays as it is (a one-time
        fill of a view that commands keep up to date). A store without that lock says so."""
        raise NotImplementedError(f"{type(self).__name__} has no store-wide write lock")


# --- the ports ------------------------------------------------------------------------------------
class EventLog(ABC):
    upcasters: UpcasterChain = NO_UPCASTERS

    @abstractmethod
    def unit_of_work(self) -> AbstractContextManager[LogUnitOfWork]:
        """Commits on a clean exit and rolls back when the block raises."""

    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        expected_version: int,
        *,
        tracking: Tracking | None = None,
    ) -> int:
        with self.unit_of_work() as uow:
            if tracking is not None:
                uow.track(tracking)
            return uow.append(stream, events, expected_version)

    @abstractmethod
    def read_stream(self, stream: str, from_version: int = 1) -> list[RecordedEvent]:
        """Events of one stream with version >= from_version, oldest first."""

    @abstractmethod
    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """Up to `limit` events with position > after_position, in position order."""

    @abstractmethod
    def head_position(self) -> int:
        """The position of the newest event, or 0 when the store is empty."""

    @abstractmethod
    def is_processed(self, consumer: str, event_id: str) -> bool: ...

    @abstractmethod
    def position(self, consumer: str) -> int:
        """The last position saved by `consumer` (0 if none)."""

    @abstractmethod
    def save_position(self, consumer: str, position: int) -> None: ...

    # --- parked events: what a position-following consumer (a relay) could not deliver ---
    def park(self, consumer: str, event: ParkedEvent) -> None:
        """Records the parked event and saves `consumer`'s position at it, in one transaction,
        so the consumer goes on past it and the event is never lost from sight."""
        raise NotImplementedError(f"{type(self).__name__} cannot park events")

    def parked(
        self, consumer: str, after_position: int = 0, limit: int = 1000
    ) -> list[ParkedEvent]:
        """The consumer's parked events after `after_position`, in position order."""
        raise NotImplementedError(f"{type(self).__name__} cannot park events")

    def count_parked(self, consumer: str) -> int:
        raise NotImplementedError(f"{type(self).__name__} cannot park events")

    def unpark(self, consumer: str, position: int) -> bool:
        """Removes a parked event; False if there was none at that position."""
        raise NotImplementedError(f"{type(self).__name__} cannot park events")

    def iter_all(self, after_position: int = 0, page: int = 1000) -> Iterator[RecordedEvent]:
        while True:
            batch = self.read_all(after_position, page)
            yield from batch
            if len(batch) < page:
                return
            after_position = batch[-1].position

    def close(self) -> None:  # noqa: B027 - stores without connections have nothing to release
        """Releases connections; the store must not be used afterwards."""


class ViewStore(ABC):
    @abstractmethod
    def unit_of_work(self) -> AbstractContextManager[ViewUnitOfWork]:
        """Commits on a clean exit and rolls back when the block raises."""

    @abstractmethod
    def get_view(self, collection: str, key: str) -> dict | None: ...

    @abstractmethod
    def list_views(self, collection: str, after_key: str = "", limit: int = 500) -> ViewPage:
        """(key, doc) pairs of a collection in key order, after `after_key`."""

    def get_views(self, collection: str, keys: Sequence[str]) -> dict[str, dict]:
        """The docs of those of `keys` that exist, by key: a page that lists references reads
        what they name at once (an adapter that can does it in one round trip)."""
        found = {}
        for key in dict.fromkeys(keys):
            doc = self.get_view(collection, key)
            if doc is not None:
                found[key] = doc
        return found

    def close(self) -> None:  # noqa: B027 - stores without connections have nothing to release
        """Releases connections; the store must not be used afterwards."""


class EventStore(EventLog, ViewStore):
    """An event log that keeps views in the same transactions as its events."""

    @abstractmethod
    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        """Appends, tracking and views, committed on a clean exit, rolled back on a raise."""
