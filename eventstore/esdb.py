"""EventStoreDB / KurrentDB adapter, over gRPC with `esdbclient`. gRPC blocks the eventlet hub
(and crashes under tpool), so eventlet processes run it in a child via
`eventstore.esdb_subprocess`.

EventStoreDB is an event log only (eventstore.port.EventLog): it keeps no views, and cannot
append to two streams or to a stream and a view in one transaction, so services, whose commands
do both, run on SQL; the relay and the park CLI can follow an EventStoreDB log.

Mapping onto ESDB
* Stream `s` is stored as `<namespace>-s`; `read_all` asks the server only for streams named
  `<namespace>-[^$].*`, so other namespaces, system streams and the bookkeeping streams below
  (`<namespace>-$...`) never show up. Port stream names may therefore not start with `$`.
* Versions count from 1 (0: no stream); ESDB stream positions count from 0. Positions are ESDB
  commit positions: strictly increasing, not dense (ESDB >= 22.10 reports them on stream reads).
* Each port call has one deadline (`timeout`) shared by its RPCs; esdbclient retries a failed RPC
  once, so a call can last about twice `timeout`. Missing it or losing the server raises
  StoreUnavailable.
* An append first compares the stream's version with `expected_version`: ESDB would take a repeat
  of the same ids at the same expected version as an idempotent no-op, where SQL raises
  ConcurrencyError.
* Limitation: event id uniqueness is a check, not a constraint. ESDB has no index of ids across
  streams, so the adapter looks each id up in `<namespace>-$id-<id>` before writing and records it
  there after. Concurrent appends of one id to two streams can both pass, and a crash between
  write and record leaves the id unrecorded. `unique_event_ids=False` saves that read and write.

Tracking without multi-stream transactions
ESDB writes one stream atomically, so a unit of work holds at most one stream's append and one
tracking record, committed through an *intent* in `<namespace>-$tracking-<consumer>-<event id>`:
1. Read the tracking stream. If its last event is an intent, resolve it (below): committed ->
   AlreadyProcessed; lost -> append an "aborted" marker and start again.
2. Check the target stream is at `expected_version`, else ConcurrencyError (nothing written).
3. Append the intent (stream, expected version, the events with their ids) at the revision read
   in 1: of competing consumers only one intent lands; the others go back to 1 and find it.
4. Append the events to the target stream at the expected version.
The truth lives in the target stream: an intent is committed when its slot (the version after its
expected version) holds its first event, lost when the slot holds another; appends are atomic and
a filled slot never changes. While the slot is empty, whoever finds the intent (a redelivery, a
competing consumer, `is_processed`) rolls it forward by doing step 4 itself; ESDB accepts the same
ids at the same expected version idempotently, so the owner's own step 4 still succeeds. Hence
"processed" means "effect stored": a crash between 3 and 4 is finished by the next reader, and an
intent that lost its slot is aborted, freeing the event for another attempt.
The events keep the caller's ids (the intent stores them, which makes replay idempotent). The
intent's own id is random: a derived one would let ESDB's idempotency accept two consumers'
intents as one write, and both would win. Tracking.position is saved after the effect: after a
crash it may lag the effect, never lead it. Saved positions live in
`<namespace>-$position-<consumer>`, whose last event wins and never moves back. The code for
tracking and positions is in eventstore.esdb_tracking.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from esdbclient import EventStoreDBClient, StreamState
from esdbclient import NewEvent as EsdbNewEvent
from esdbclient import RecordedEvent as EsdbRecordedEvent
from esdbclient.exceptions import (
    DeadlineExceeded,
    DiscoveryFailed,
    EventStoreDBClientException,
    GrpcError,
    NodeIsNotLeader,
    NotFound,
    WrongCurrentVersion,
)

from eventstore.errors import AlreadyProcessed, ConcurrencyError, EventStoreError, StoreUnavailable
from eventstore.esdb_mapping import (  # noqa: F401 - the mapping rules are part of this API
    _LAST_POSITION,
    ABORTED,
    ID_RECORD,
    ID_RECORDS,
    INTENT,
    KEEP_POSITIONS,
    MAX_ROUNDS,
    NAMESPACE,
    POSITION,
    UNKNOWN_TIME,
    actual_version,
    check_append,
    esdb_event,
    esdb_revision,
    esdb_stream,
    event_doc,
    id_record_event_id,
    json_bytes,
    namespace_filter,
    port_stream,
)
from eventstore.esdb_tracking import EsdbTracking
from eventstore.port import EventLog, LogUnitOfWork
from eventstore.records import NewEvent, RecordedEvent, Tracking
from eventstore.upcasting import NO_UPCASTERS, UpcasterChain

log = logging.getLogger(__name__)


class EsdbUnitOfWork(LogUnitOfWork):
    """Buffers one stream's appends and one tracking record until the block exits cleanly."""

    def __init__(self, store: EsdbEventLog):
        self._store = store
        self.stream: str | None = None
        self.expected = 0
        self.events: list[dict] = []
        self.tracking: Tracking | None = None

    def append(self, stream: str, events: Sequence[NewEvent], expected_version: int) -> int:
        check_append(stream, events, expected_version)
        if self.stream is None:
            self.stream, self.expected = stream, expected_version
        elif stream != self.stream:
            raise NotImplementedError(
                "EventStoreDB writes one stream atomically: a unit of work may append to one"
                f" stream only (already {self.stream!r}, now {stream!r})"
            )
        elif expected_version != self.expected + len(self.events):
            raise ConcurrencyError(stream, expected_version, self.expected + len(self.events))
        self.events.extend(event_doc(event) for event in events)
        return expected_version + len(events)

    def track(self, tracking: Tracking) -> None:
        if self.tracking is not None:
            raise NotImplementedError("EventStoreDB units of work hold one tracking record")
        # Checked early so a duplicate skips the consumer's work; commit checks again.
        if self._store.is_processed(tracking.consumer, tracking.event_id):
            raise AlreadyProcessed(tracking.consumer, tracking.event_id)
        self.tracking = tracking


class EsdbEventLog(EsdbTracking, EventLog):
    def __init__(
        self,
        uri: str,
        *,
        namespace: str,
        timeout: float = 10.0,
        unique_event_ids: bool = True,
        upcasters: UpcasterChain = NO_UPCASTERS,
        client_factory: Callable[[str], Any] = EventStoreDBClient,
    ):
        if not NAMESPACE.fullmatch(namespace):
            raise ValueError(f"namespace {namespace!r} must match {NAMESPACE.pattern}")
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        self.uri = uri
        self.namespace = namespace
        self.timeout = float(timeout)
        self.unique_event_ids = unique_event_ids
        self.upcasters = upcasters
        self._client_factory = client_factory
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._filter = namespace_filter(namespace)

    # --- RPCs: one deadline per port call, errors mapped once ------------------------------
    def _deadline(self) -> float:
        return time.monotonic() + self.timeout

    def _rpc(self, deadline: float, call: Callable[[Any, float], Any]) -> Any:
        left = deadline - time.monotonic()
        if left <= 0:
            raise StoreUnavailable(f"EventStoreDB call missed its {self.timeout:g} s deadline")
        try:
            with self._client_lock:  # built lazily: discovery URIs talk to the cluster
                if self._client is None:
                    self._client = self._client_factory(self.uri)
                client = self._client
            return call(client, left)
        except (WrongCurrentVersion, NotFound):
            raise
        except (DeadlineExceeded, GrpcError, DiscoveryFailed, NodeIsNotLeader) as exc:
            raise StoreUnavailable(f"EventStoreDB did not answer: {exc!r}") from exc
        except EventStoreDBClientException as exc:
            raise EventStoreError(f"EventStoreDB refused the call: {exc!r}") from exc

    def _read(
        self,
        deadline: float,
        name: str,
        *,
        position: int | None = None,
        backwards: bool = False,
        limit: int = sys.maxsize,
    ) -> Sequence[EsdbRecordedEvent]:
        try:
            return self._rpc(
                deadline,
                lambda c, t: c.get_stream(
                    name, stream_position=position, backwards=backwards, limit=limit, timeout=t
                ),
            )
        except NotFound:
            return ()

    def _write(
        self, deadline: float, name: str, revision: int | StreamState, events: list[EsdbNewEvent]
    ) -> None:
        self._rpc(
            deadline,
            lambda c, t: c.append_to_stream(
                name, current_version=revision, events=events, timeout=t
            ),
        )

    def _name(self, stream: str) -> str:
        return esdb_stream(self.namespace, stream)

    def _version(self, deadline: float, stream: str) -> int:
        last = self._read(deadline, self._name(stream), backwards=True, limit=1)
        return last[0].stream_position + 1 if last else 0

    # --- appends ------------------------------------------------------------------------------
    @contextmanager
    def unit_of_work(self) -> Iterator[EsdbUnitOfWork]:
        uow = EsdbUnitOfWork(self)
        yield uow
        deadline = self._deadline()
        if uow.tracking is not None:
            self._commit_tracked(deadline, uow, uow.tracking)
        elif uow.stream is not None:
            self._precheck(deadline, uow.stream, uow.events, uow.expected)
            actual = self._apply(deadline, uow.stream, uow.events, uow.expected)
            if actual is not None:
                raise ConcurrencyError(uow.stream, uow.expected, actual)

    def _precheck(self, deadline: float, stream: str, events: list[dict], expected: int) -> None:
        actual = self._version(deadline, stream)
        if actual != expected:
            raise ConcurrencyError(stream, expected, actual)
        ids = [event["id"] for event in events]
        if len(set(ids)) != len(ids):
            raise EventStoreError(f"an event id appears twice in one append to {stream!r}")
        if not self.unique_event_ids:
            return
        for version, event_id in enumerate(ids, start=expected + 1):
            for found in self._read(deadline, self._name(f"$id-{event_id}"), limit=1):
                if found.id != id_record_event_id(event_id, stream, version):
                    owner = json.loads(found.data)["stream"]
                    raise EventStoreError(f"event id {event_id} already stored in {owner!r}")

    def _apply(self, deadline: float, stream: str, events: list[dict], expected: int) -> int | None:
        """Writes the events at `expected`: None once written, else the stream's version."""
        try:
            self._write(
                deadline,
                self._name(stream),
                esdb_revision(expected),
                [esdb_event(doc) for doc in events],
            )
        except WrongCurrentVersion as exc:
            found = actual_version(exc)
            return self._version(deadline, stream) if found is None else found
        if self.unique_event_ids:
            self._record_ids(deadline, stream, events, expected)
        return None

    def _record_ids(self, deadline: float, stream: str, events: list[dict], expected: int) -> None:
        # The effect is already stored: failing here must not report the append as failed.
        for version, doc in enumerate(events, start=expected + 1):
            slot = {"stream": stream, "version": version}
            record = EsdbNewEvent(
                type=ID_RECORD,
                data=json_bytes(slot),
                id=id_record_event_id(doc["id"], stream, version),
            )
            try:
                self._write(
                    deadline, self._name(f"$id-{doc['id']}"), StreamState.NO_STREAM, [record]
                )
            except WrongCurrentVersion:
                log.warning(
                    "event id %s is stored twice: a concurrent append passed the check", doc["id"]
                )
            except EventStoreError as exc:
                log.warning("event ids of %r left unrecorded: %s", stream, exc)
                return

    # --- reads ----------------------------------------------------------------------------------
    def _recorded(self, event: EsdbRecordedEvent) -> RecordedEvent:
        type_name, data = event.type, json.loads(event.data) if event.data else {}
        if self.upcasters:
            type_name, data = self.upcasters.upcast(type_name, data)
        return RecordedEvent(
            id=str(event.id),
            type=type_name,
            data=data,
            metadata=json.loads(event.metadata) if event.metadata else {},
            stream=port_stream(self.namespace, event.stream_name),
            version=event.stream_position + 1,
            position=self._commit_position(event),
            # ESDB sends `created` with every event; only servers too old for us omit it.
            recorded_at=event.recorded_at or UNKNOWN_TIME,
        )

    @staticmethod
    def _commit_position(event: EsdbRecordedEvent) -> int:
        if event.commit_position is None:
            raise EventStoreError(
                "EventStoreDB sent an event without its commit position;"
                " the adapter needs a server of version 22.10 or later"
            )
        return event.commit_position

    def read_stream(self, stream: str, from_version: int = 1) -> list[RecordedEvent]:
        if not isinstance(stream, str) or stream.startswith("$"):
            raise ValueError(f"stream name {stream!r} must not start with '$'")
        start = max(from_version, 1) - 1
        found = self._read(self._deadline(), self._name(stream), position=start or None)
        return [self._recorded(event) for event in found]

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        if limit <= 0:
            return []

        def call(client: Any, left: float) -> list[EsdbRecordedEvent]:
            # ESDB starts at the given commit position inclusively; one extra covers the skip.
            return list(
                client.read_all(
                    commit_position=after_position or None,
                    filter_include=(self._filter,),
                    filter_by_stream_name=True,
                    limit=limit + 1,
                    timeout=left,
                )
            )

        found = [
            event
            for event in self._rpc(self._deadline(), call)
            if event.commit_position > after_position and not event.type.startswith("$")
        ]
        return [self._recorded(event) for event in found[:limit]]

    def head_position(self) -> int:
        return self._rpc(
            self._deadline(),
            lambda c, t: c.get_commit_position(
                filter_include=(self._filter,), filter_by_stream_name=True, timeout=t
            ),
        )

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None
