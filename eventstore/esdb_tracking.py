"""Tracking records and saved positions of EsdbEventLog: the write-ahead intent that stands
in for a multi-stream transaction, described in eventstore.esdb's docstring, and the consumer
position streams. A mixin rather than a helper object so the store keeps one set of methods
(tests replace `EsdbEventLog._resolve` to simulate a crash after the intent is written)."""

from __future__ import annotations

import json
import logging
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from esdbclient import NewEvent as EsdbNewEvent
from esdbclient import RecordedEvent as EsdbRecordedEvent
from esdbclient import StreamState
from esdbclient.exceptions import WrongCurrentVersion

from eventstore.errors import AlreadyProcessed, ConcurrencyError, EventStoreError, StoreUnavailable
from eventstore.esdb_mapping import (
    ABORTED,
    INTENT,
    KEEP_POSITIONS,
    MAX_ROUNDS,
    POSITION,
    json_bytes,
)
from eventstore.records import Tracking

if TYPE_CHECKING:
    from eventstore.esdb import EsdbUnitOfWork

# The store's logger: these warnings are the store's, whichever module holds the code.
log = logging.getLogger("eventstore.esdb")


class EsdbTracking(ABC):
    """Tracking and positions over the RPC helpers that eventstore.esdb.EsdbEventLog supplies."""

    # --- what the store supplies ------------------------------------------------------------
    @abstractmethod
    def _deadline(self) -> float: ...

    @abstractmethod
    def _rpc(self, deadline: float, call: Callable[[Any, float], Any]) -> Any: ...

    @abstractmethod
    def _read(
        self,
        deadline: float,
        name: str,
        *,
        position: int | None = None,
        backwards: bool = False,
        limit: int = sys.maxsize,
    ) -> Sequence[EsdbRecordedEvent]: ...

    @abstractmethod
    def _write(
        self, deadline: float, name: str, revision: int | StreamState, events: list[EsdbNewEvent]
    ) -> None: ...

    @abstractmethod
    def _name(self, stream: str) -> str: ...

    @abstractmethod
    def _version(self, deadline: float, stream: str) -> int: ...

    @abstractmethod
    def _precheck(
        self, deadline: float, stream: str, events: list[dict], expected: int
    ) -> None: ...

    @abstractmethod
    def _apply(
        self, deadline: float, stream: str, events: list[dict], expected: int
    ) -> int | None: ...

    # --- tracking (the protocol is described in eventstore.esdb's docstring) ------------------
    def _tracking_stream(self, consumer: str, event_id: str) -> str:
        # The consumer is quoted so that its first unquoted "-" ends it: ("a-b", "c") and
        # ("a", "b-c") must not share a stream.
        quoted = consumer.replace("%", "%25").replace("-", "%2D")
        return self._name(f"$tracking-{quoted}-{event_id}")

    def _last_intent(self, deadline: float, name: str) -> tuple[int | None, dict | None]:
        """The tracking stream's last revision (None: no stream), and its intent if the last
        event is one."""
        last = self._read(deadline, name, backwards=True, limit=1)
        if not last:
            return None, None
        return last[0].stream_position, (
            json.loads(last[0].data) if last[0].type == INTENT else None
        )

    def _resolve(self, deadline: float, intent: dict) -> bool:
        """Whether the intent's effect is stored, rolling it forward while its slot is free."""
        if intent["stream"] is None:
            return True
        stream, expected, events = intent["stream"], intent["expected"], intent["events"]
        for attempt in range(2):
            slot = self._read(deadline, self._name(stream), position=expected, limit=1)
            if slot:
                return str(slot[0].id) == events[0]["id"]
            if attempt == 0 and self._apply(deadline, stream, events, expected) is None:
                return True
        return False  # the stream is shorter than the intent expected: it cannot apply

    def _abort(self, deadline: float, name: str, revision: int) -> None:
        try:
            self._write(deadline, name, revision, [EsdbNewEvent(type=ABORTED, data=b"{}")])
        except WrongCurrentVersion:
            pass  # someone else aborted it, or already moved on to a new attempt

    def _commit_tracked(self, deadline: float, uow: EsdbUnitOfWork, tracking: Tracking) -> None:
        name = self._tracking_stream(tracking.consumer, tracking.event_id)
        for _ in range(MAX_ROUNDS):
            revision, intent = self._last_intent(deadline, name)
            if revision is not None and intent is not None:
                if self._resolve(deadline, intent):
                    self._save_position_quietly(deadline, tracking.consumer, intent["position"])
                    raise AlreadyProcessed(tracking.consumer, tracking.event_id)
                self._abort(deadline, name, revision)
                continue
            if uow.stream is not None:
                self._precheck(deadline, uow.stream, uow.events, uow.expected)
            mine = {
                "stream": uow.stream,
                "expected": uow.expected,
                "events": uow.events,
                "position": tracking.position,
            }
            after = StreamState.NO_STREAM if revision is None else revision
            try:
                self._write(
                    deadline, name, after, [EsdbNewEvent(type=INTENT, data=json_bytes(mine))]
                )
            except WrongCurrentVersion:
                continue  # a competing attempt landed first: resolve it
            if not self._resolve(deadline, mine):
                # Only an intent with a stream can lose its slot (_resolve).
                assert uow.stream is not None
                self._abort(deadline, name, 0 if revision is None else revision + 1)
                actual = self._version(deadline, uow.stream)
                raise ConcurrencyError(uow.stream, uow.expected, actual)
            self._save_position_quietly(deadline, tracking.consumer, tracking.position)
            return
        raise StoreUnavailable(f"tracking stream {name!r} kept changing; try again")

    def is_processed(self, consumer: str, event_id: str) -> bool:
        deadline = self._deadline()
        name = self._tracking_stream(consumer, event_id)
        for _ in range(MAX_ROUNDS):
            revision, intent = self._last_intent(deadline, name)
            if revision is None or intent is None:
                return False
            if self._resolve(deadline, intent):
                return True
            self._abort(deadline, name, revision)
        raise StoreUnavailable(f"tracking stream {name!r} kept changing; try again")

    # --- positions ------------------------------------------------------------------------------
    def _last_position(self, deadline: float, name: str) -> tuple[int | StreamState, int]:
        last = self._read(deadline, name, backwards=True, limit=1)
        if not last:
            return StreamState.NO_STREAM, 0
        return last[0].stream_position, json.loads(last[0].data)["position"]

    def position(self, consumer: str) -> int:
        return self._last_position(self._deadline(), self._name(f"$position-{consumer}"))[1]

    def save_position(self, consumer: str, position: int) -> None:
        self._save_position(self._deadline(), consumer, position)

    def _save_position(self, deadline: float, consumer: str, position: int) -> None:
        name = self._name(f"$position-{consumer}")
        for _ in range(MAX_ROUNDS):
            revision, saved = self._last_position(deadline, name)
            if revision is not StreamState.NO_STREAM and saved >= position:
                return
            event = EsdbNewEvent(type=POSITION, data=json_bytes({"position": position}))
            try:
                self._write(deadline, name, revision, [event])
            except WrongCurrentVersion:
                continue
            if revision is StreamState.NO_STREAM:  # only the newest value matters
                try:
                    self._rpc(
                        deadline,
                        lambda c, t: c.set_stream_metadata(
                            name, metadata={"$maxCount": KEEP_POSITIONS}, timeout=t
                        ),
                    )
                except EventStoreError as exc:
                    log.warning("could not cap %r: %s", name, exc)
            return
        raise StoreUnavailable(f"position stream {name!r} kept changing; try again")

    def _save_position_quietly(self, deadline: float, consumer: str, position: int | None) -> None:
        # Runs after the effect is stored: a lagging position only causes AlreadyProcessed.
        if position is None:
            return
        try:
            self._save_position(deadline, consumer, position)
        except EventStoreError as exc:
            log.warning("position %s of %s not saved: %s", position, consumer, exc)
