"""What the SQLite and PostgreSQL adapters share: the schema's shape, the append protocol and
tracking. Each adapter supplies connections, transactions and its SQL dialect.

Append protocol, in one transaction that holds the store's single write lock:
1. read the stream's version and compare it with `expected_version`;
2. read the head position and give the new events head+1, head+2, ...;
3. insert them, then commit, releasing the lock.
Because the lock is held from (2) until commit, commits happen in position order and positions
have no gaps, so a reader paging by position never misses an event that commits late.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

from eventstore.errors import AlreadyProcessed, ConcurrencyError, EventStoreError
from eventstore.jsoncodec import decode_json, encode_json
from eventstore.port import EventStore, UnitOfWork, ViewPage
from eventstore.records import NewEvent, ParkedEvent, RecordedEvent, Tracking
from eventstore.upcasting import NO_UPCASTERS, UpcasterChain


def utc_now() -> datetime:
    return datetime.now(UTC)


class SqlDialect:
    """SQL texts written with `?` placeholders, rewritten per adapter."""

    placeholder = "?"

    def __init__(self) -> None:
        self.sql = {name: text.replace("?", self.placeholder) for name, text in self.TEXTS.items()}

    TEXTS = {
        "stream_version": "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = ?",
        "head": "SELECT COALESCE(MAX(position), 0) FROM events",
        "insert_event": (
            "INSERT INTO events (position, event_id, stream, version, type, data, metadata,"
            " recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        ),
        "read_stream": (
            "SELECT event_id, type, data, metadata, stream, version, position, recorded_at"
            " FROM events WHERE stream = ? AND version >= ? ORDER BY version"
        ),
        "read_all": (
            "SELECT event_id, type, data, metadata, stream, version, position, recorded_at"
            " FROM events WHERE position > ? ORDER BY position LIMIT ?"
        ),
        "track": ("INSERT INTO tracking (consumer, event_id) VALUES (?, ?) ON CONFLICT DO NOTHING"),
        "is_processed": "SELECT 1 FROM tracking WHERE consumer = ? AND event_id = ?",
        "save_position": (
            "INSERT INTO positions (consumer, position) VALUES (?, ?)"
            " ON CONFLICT (consumer) DO UPDATE SET position = excluded.position"
            " WHERE excluded.position > positions.position"
        ),
        "position": "SELECT position FROM positions WHERE consumer = ?",
        "put_view": (
            "INSERT INTO views (collection, key, doc) VALUES (?, ?, ?)"
            " ON CONFLICT (collection, key) DO UPDATE SET doc = excluded.doc"
        ),
        "get_view": "SELECT doc FROM views WHERE collection = ? AND key = ?",
        "delete_view": "DELETE FROM views WHERE collection = ? AND key = ?",
        "list_views": (
            "SELECT key, doc FROM views WHERE collection = ? AND key > ? ORDER BY key LIMIT ?"
        ),
        "park": (
            "INSERT INTO parked_events (consumer, position, event_id, type, error, parked_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (consumer, position)"
            " DO UPDATE SET error = excluded.error, parked_at = excluded.parked_at"
        ),
        "parked": (
            "SELECT position, event_id, type, error, parked_at FROM parked_events"
            " WHERE consumer = ? AND position > ? ORDER BY position LIMIT ?"
        ),
        "count_parked": "SELECT COUNT(*) FROM parked_events WHERE consumer = ?",
        "unpark": "DELETE FROM parked_events WHERE consumer = ? AND position = ?",
    }


class SqlUnitOfWork(UnitOfWork):
    def __init__(self, store: SqlEventStore, cursor: Any):
        self._store = store
        self._cursor = cursor
        self._sql = store.dialect.sql
        self._locked = False
        self._views: dict[tuple[str, str], str | bytes | None] = {}
        """View writes not yet sent: encoded doc, or None for a deletion; see `write_views`."""
        self._read: dict[tuple[str, str], Any] = {}
        """Views read ahead by `prefetch_views` (None: no such view), under `_views`."""

    def _one(self, name: str, *params: Any) -> Any:
        self._cursor.execute(self._sql[name], params)
        row = self._cursor.fetchone()
        return None if row is None else row[0]

    def append(self, stream: str, events: Sequence[NewEvent], expected_version: int) -> int:
        if not isinstance(expected_version, int) or expected_version < 0:
            raise ValueError("expected_version must be a stream version (0 for a new stream)")
        if not events:
            raise ValueError("append needs at least one event")
        if not self._locked:
            self._store.lock_for_append(self._cursor)
            self._locked = True
        actual = self._one("stream_version", stream)
        if actual != expected_version:
            raise ConcurrencyError(stream, expected_version, actual)
        head = self._one("head")
        now = self._store.clock()
        rows = [
            (
                head + offset,
                event.id,
                stream,
                expected_version + offset,
                event.type,
                encode_json(event.data),
                encode_json(event.metadata),
                self._store.encode_time(now),
            )
            for offset, event in enumerate(events, start=1)
        ]
        try:
            self._cursor.executemany(self._sql["insert_event"], rows)
        except self._store.integrity_errors as exc:
            raise EventStoreError(f"event id already stored in {stream!r}: {exc}") from exc
        return expected_version + len(events)

    def lock_writes(self) -> None:
        if not self._locked:
            self._store.lock_for_append(self._cursor)
            self._locked = True

    def track(self, tracking: Tracking) -> None:
        self._cursor.execute(self._sql["track"], (tracking.consumer, tracking.event_id))
        if self._cursor.rowcount == 0:
            raise AlreadyProcessed(tracking.consumer, tracking.event_id)
        if tracking.position is not None:
            self._cursor.execute(self._sql["save_position"], (tracking.consumer, tracking.position))

    def put_view(self, collection: str, key: str, doc: dict) -> None:
        self._views[collection, key] = encode_json(doc)

    def delete_view(self, collection: str, key: str) -> None:
        self._views[collection, key] = None

    def get_view(self, collection: str, key: str) -> dict | None:
        if (collection, key) in self._views:
            doc = self._views[collection, key]
        elif (collection, key) in self._read:
            doc = self._read[collection, key]
        else:
            doc = self._one("get_view", collection, key)
        return None if doc is None else self._store.decode_json(doc)

    def prefetch_views(self, collection: str, keys: Sequence[str]) -> None:
        found = dict(self._store.select_views(self._cursor, collection, keys))
        self._read.update(((collection, key), found.get(key)) for key in keys)

    def write_views(self) -> None:
        """Sends the unit's view writes, each key's last, in two statements. A projection
        rewrites shared rows (a day's or an industry's totals) once per event, so a batch of
        events wrote the same rows hundreds of times; the unit reads its own writes first."""
        puts = [(c, k, doc) for (c, k), doc in self._views.items() if doc is not None]
        deletes = [(c, k) for (c, k), doc in self._views.items() if doc is None]
        self._views = {}
        if puts:
            self._cursor.executemany(self._sql["put_view"], puts)
        if deletes:
            self._cursor.executemany(self._sql["delete_view"], deletes)


class SqlEventStore(EventStore):
    dialect: SqlDialect
    integrity_errors: tuple[type[Exception], ...] = ()

    def __init__(
        self, *, upcasters: UpcasterChain = NO_UPCASTERS, clock: Callable[[], datetime] = utc_now
    ):
        self.upcasters = upcasters
        self.clock = clock

    # --- what an adapter supplies -------------------------------------------------------
    @abstractmethod
    def _write_transaction(self) -> AbstractContextManager[Any]:
        """A cursor inside a transaction that commits on exit."""

    @abstractmethod
    def _read_cursor(self) -> AbstractContextManager[Any]:
        """A cursor for reads."""

    def lock_for_append(self, cursor: Any) -> None:
        """Takes the store-wide write lock, if the transaction does not hold it already."""

    def encode_time(self, moment: datetime) -> Any:
        return moment

    def decode_time(self, value: Any) -> datetime:
        return value

    def decode_json(self, value: Any) -> dict:
        return decode_json(value) if isinstance(value, str | bytes) else value

    # --- the port ------------------------------------------------------------------------
    @contextmanager
    def unit_of_work(self) -> Iterator[SqlUnitOfWork]:
        with self._write_transaction() as cursor:
            uow = SqlUnitOfWork(self, cursor)
            yield uow
            uow.write_views()

    def _recorded(self, row: Sequence[Any]) -> RecordedEvent:
        event_id, type_name, data, metadata, stream, version, position, recorded_at = row
        data = self.decode_json(data)
        if self.upcasters:
            type_name, data = self.upcasters.upcast(type_name, data)
        return RecordedEvent(
            id=str(event_id),
            type=type_name,
            data=data,
            metadata=self.decode_json(metadata),
            stream=stream,
            version=version,
            position=position,
            recorded_at=self.decode_time(recorded_at),
        )

    def _rows(self, name: str, *params: Any) -> list[Any]:
        with self._read_cursor() as cursor:
            cursor.execute(self.dialect.sql[name], params)
            return cursor.fetchall()

    def read_stream(self, stream: str, from_version: int = 1) -> list[RecordedEvent]:
        return [self._recorded(row) for row in self._rows("read_stream", stream, from_version)]

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        return [self._recorded(row) for row in self._rows("read_all", after_position, limit)]

    def head_position(self) -> int:
        return self._rows("head")[0][0]

    def is_processed(self, consumer: str, event_id: str) -> bool:
        return bool(self._rows("is_processed", consumer, event_id))

    def position(self, consumer: str) -> int:
        rows = self._rows("position", consumer)
        return rows[0][0] if rows else 0

    def save_position(self, consumer: str, position: int) -> None:
        with self._write_transaction() as cursor:
            cursor.execute(self.dialect.sql["save_position"], (consumer, position))

    def park(self, consumer: str, event: ParkedEvent) -> None:
        with self._write_transaction() as cursor:
            cursor.execute(
                self.dialect.sql["park"],
                (
                    consumer,
                    event.position,
                    event.event_id,
                    event.type,
                    event.error,
                    self.encode_time(self.clock()),
                ),
            )
            cursor.execute(self.dialect.sql["save_position"], (consumer, event.position))

    def parked(
        self, consumer: str, after_position: int = 0, limit: int = 1000
    ) -> list[ParkedEvent]:
        return [
            ParkedEvent(position, str(event_id), type_name, error, self.decode_time(at))
            for position, event_id, type_name, error, at in self._rows(
                "parked", consumer, after_position, limit
            )
        ]

    def count_parked(self, consumer: str) -> int:
        return self._rows("count_parked", consumer)[0][0]

    def unpark(self, consumer: str, position: int) -> bool:
        with self._write_transaction() as cursor:
            cursor.execute(self.dialect.sql["unpark"], (consumer, position))
            return cursor.rowcount > 0

    def get_view(self, collection: str, key: str) -> dict | None:
        rows = self._rows("get_view", collection, key)
        return self.decode_json(rows[0][0]) if rows else None

    GET_MANY = 500
    """Keys per query of get_views (below every SQLite build's limit on parameters)."""

    def get_views(self, collection: str, keys: Sequence[str]) -> dict[str, dict]:
        with self._read_cursor() as cursor:
            return {
                key: self.decode_json(doc)
                for key, doc in self.select_views(cursor, collection, keys)
            }

    def select_views(
        self, cursor: Any, collection: str, keys: Sequence[str]
    ) -> list[tuple[str, Any]]:
        """(key, stored doc) of the keys that exist, GET_MANY keys a query."""
        unique = list(dict.fromkeys(keys))
        found: list[tuple[str, Any]] = []
        mark = self.dialect.placeholder
        for first in range(0, len(unique), self.GET_MANY):
            chunk = unique[first : first + self.GET_MANY]
            query = (
                f"SELECT key, doc FROM views WHERE collection = {mark}"
                f" AND key IN ({', '.join([mark] * len(chunk))})"
            )
            cursor.execute(query, (collection, *chunk))
            found += cursor.fetchall()
        return found

    def list_views(self, collection: str, after_key: str = "", limit: int = 500) -> ViewPage:
        return [
            (key, self.decode_json(doc))
            for key, doc in self._rows("list_views", collection, after_key, limit)
        ]
