"""EventStoreDB in a child process: the parent forwards every port call to it as JSON lines.

Why: gRPC (esdbclient) blocks the eventlet hub and crashes under tpool, so the EventStoreDB
adapter cannot live in an eventlet process. The parent side here uses only `subprocess`,
`select` and raw pipe reads and writes: under eventlet's monkey patching `select` is green, so
a greenthread waiting for the child lets the others run. The child can host the SQL adapters
too (`SubprocessEventStore`), so the pipe is tested without an EventStoreDB server.

Protocol: the child (`python -m eventstore.esdb_subprocess_child --spec JSON`) opens the store
the spec names, writes one line `{"ready": true}` (or `{"error": ...}`), then answers each
request line `{"id", "op", "args"}` with one line `{"id", "ok": result}` or `{"id", "error":
{...}}`. Requests are serialised by a lock, so there is one request in flight. Errors keep their
type (and the fields of ConcurrencyError and AlreadyProcessed); datetimes cross as ISO strings.

A unit of work is buffered in the parent and sent as one `commit` request that the child runs
in one unit of work of its own. Reads of views inside it are sent along as expectations the
child re-checks in its transaction, so a read-modify-write of a view cannot lose an update.
Upcasters are functions and cannot cross the pipe: the parent applies them to what it reads.

Every call has a deadline (`call_timeout`). A child that misses it, dies or answers out of step
is killed and the call raises StoreUnavailable (the outcome of a write is then unknown); the
next call starts a new child. A child found dead before a request is replaced transparently.
"""

from __future__ import annotations

import json
import os
import posix
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from eventstore.errors import AlreadyProcessed, EventStoreError, StoreUnavailable
from eventstore.esdb_subprocess_wire import (  # noqa: F401 - encode_error: re-exported for tests
    STORE_KINDS,
    VIEW_KINDS,
    decode_error,
    dumps_line,
    encode_error,
    event_to_wire,
    new_event_to_wire,
    snapshot,
)
from eventstore.port import EventLog, EventStore, LogUnitOfWork, UnitOfWork, ViewPage
from eventstore.records import NewEvent, RecordedEvent, Tracking
from eventstore.upcasting import NO_UPCASTERS, UpcasterChain

_SOURCE_ROOT = str(Path(__file__).resolve().parent.parent)


# --- parent side ---------------------------------------------------------------------------
class _ChildLost(Exception):
    """The child cannot be trusted to answer in step any more."""


class SubprocessLogUnitOfWork(LogUnitOfWork):
    def __init__(self, store: SubprocessEventLog):
        self._store = store
        self.ops: list[list] = []

    def append(self, stream: str, events: Sequence[NewEvent], expected_version: int) -> int:
        if not isinstance(expected_version, int) or expected_version < 0:
            raise ValueError("expected_version must be a stream version (0 for a new stream)")
        if not events:
            raise ValueError("append needs at least one event")
        wire = snapshot([new_event_to_wire(e) for e in events])
        self.ops.append(
            ["append", {"stream": stream, "expected_version": expected_version, "events": wire}]
        )
        return expected_version + len(events)

    def track(self, tracking: Tracking) -> None:
        # Checked early so a duplicate skips the consumer's work; the commit checks again.
        if self._store.is_processed(tracking.consumer, tracking.event_id):
            raise AlreadyProcessed(tracking.consumer, tracking.event_id)
        self.ops.append(
            [
                "track",
                {
                    "consumer": tracking.consumer,
                    "event_id": tracking.event_id,
                    "position": tracking.position,
                },
            ]
        )


class SubprocessUnitOfWork(SubprocessLogUnitOfWork, UnitOfWork):
    def __init__(self, store: SubprocessEventStore):
        super().__init__(store)
        self._view_store = store
        self._views: dict[tuple[str, str], Any] = {}

    def put_view(self, collection: str, key: str, doc: dict) -> None:
        self._views[(collection, key)] = doc = snapshot(doc)
        self.ops.append(["put_view", {"collection": collection, "key": key, "doc": doc}])

    def delete_view(self, collection: str, key: str) -> None:
        self._views[(collection, key)] = None
        self.ops.append(["delete_view", {"collection": collection, "key": key}])

    def get_view(self, collection: str, key: str) -> dict | None:
        if (collection, key) in self._views:
            return snapshot(self._views[(collection, key)])
        doc = self._view_store.get_view(collection, key)
        self.ops.append(
            ["expect_view", {"collection": collection, "key": key, "doc": snapshot(doc)}]
        )
        return doc


class SubprocessEventLog(EventLog):
    """An event log (EventStoreDB, or any kind in STORE_KINDS) served by a child process."""

    def __init__(
        self,
        spec: dict,
        *,
        upcasters: UpcasterChain = NO_UPCASTERS,
        call_timeout: float = 30.0,
        start_timeout: float = 30.0,
        python: str | None = None,
    ):
        if spec.get("kind") not in STORE_KINDS:
            raise ValueError(f"unknown store kind in {spec!r}; known: {sorted(STORE_KINDS)}")
        self.spec = dict(spec)
        self.upcasters = upcasters
        self.call_timeout = call_timeout
        self.start_timeout = start_timeout
        self._python = python or sys.executable
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._buffer = bytearray()
        self._next_id = 0
        self._closed = False
        with self._lock:
            self._start()

    @property
    def child_pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    # --- the child process --------------------------------------------------------------------
    def _start(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_SOURCE_ROOT, env.get("PYTHONPATH")]))
        # Looked up at call time so that eventlet's green Popen is used when patched.
        self._proc = subprocess.Popen(
            [
                self._python,
                "-m",
                "eventstore.esdb_subprocess_child",
                "--spec",
                json.dumps(self.spec),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self._buffer = bytearray()
        try:
            for fd in self._fds():
                os.set_blocking(fd, False)
            hello = self._receive(time.monotonic() + self.start_timeout)
        except _ChildLost as exc:
            self._stop_child()
            raise StoreUnavailable(f"event store child did not start: {exc}") from None
        if "error" in hello:
            self._stop_child()
            raise decode_error(hello["error"])

    def _stop_child(self, grace: float = 0.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if grace:
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass

    def _fds(self) -> tuple[int, int]:
        """The child's stdin and stdout."""
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise _ChildLost("it is not running")
        return proc.stdin.fileno(), proc.stdout.fileno()

    @staticmethod
    def _left(deadline: float) -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _ChildLost("no answer before the deadline")
        return left

    # posix.read/posix.write rather than os.*: eventlet's green os.write retries EPIPE forever,
    # and select has already waited (greenly) for the pipe to be ready.
    def _send(self, data: bytes, deadline: float) -> None:
        fd = self._fds()[0]
        view = memoryview(data)
        while view:
            _, ready, _ = select.select([], [fd], [], self._left(deadline))
            if not ready:
                continue
            try:
                view = view[posix.write(fd, view) :]
            except BlockingIOError:
                continue
            except OSError as exc:
                raise _ChildLost(f"cannot write to it ({exc})") from None

    def _receive(self, deadline: float) -> dict:
        fd = self._fds()[1]
        scanned = 0
        while (end := self._buffer.find(b"\n", scanned)) < 0:
            scanned = len(self._buffer)
            ready, _, _ = select.select([fd], [], [], self._left(deadline))
            if not ready:
                continue
            try:
                chunk = posix.read(fd, 1 << 16)
            except BlockingIOError:
                continue
            except OSError as exc:
                raise _ChildLost(f"cannot read from it ({exc})") from None
            if not chunk:
                status = None if self._proc is None else self._proc.poll()
                raise _ChildLost(f"it exited (status {status})")
            self._buffer += chunk
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        try:
            return json.loads(line)
        except ValueError:
            raise _ChildLost(f"it wrote something that is not JSON: {line[:200]!r}") from None

    def _call(self, op: str, **args: Any) -> Any:
        with self._lock:
            if self._closed:
                raise EventStoreError("the store is closed")
            if self._proc is None or self._proc.poll() is not None:
                self._stop_child()
                self._start()
            self._next_id += 1
            request_id = self._next_id
            deadline = time.monotonic() + self.call_timeout
            try:
                self._send(dumps_line({"id": request_id, "op": op, "args": args}), deadline)
                response = self._receive(deadline)
                if response.get("id") != request_id:
                    raise _ChildLost(f"answer {response.get('id')} to request {request_id}")
            except _ChildLost as exc:
                self._stop_child()
                raise StoreUnavailable(f"event store child failed during {op}: {exc}") from None
            except BaseException:
                # Interrupted (eventlet.Timeout, a killed greenthread): its answer may still
                # come and would be read as the next call's, so this child is done.
                self._stop_child()
                raise
        if "error" in response:
            raise decode_error(response["error"])
        return response["ok"]

    # --- the port -------------------------------------------------------------------------------
    @contextmanager
    def unit_of_work(self) -> Iterator[SubprocessLogUnitOfWork]:
        uow = SubprocessLogUnitOfWork(self)
        yield uow
        self._commit(uow)

    def _commit(self, uow: SubprocessLogUnitOfWork) -> None:
        if uow.ops:
            self._call("commit", ops=uow.ops)

    def _recorded(self, wire: dict) -> RecordedEvent:
        type_name, data = wire["type"], wire["data"]
        if self.upcasters:
            type_name, data = self.upcasters.upcast(type_name, data)
        return RecordedEvent(
            id=wire["id"],
            type=type_name,
            data=data,
            metadata=wire["metadata"],
            stream=wire["stream"],
            version=wire["version"],
            position=wire["position"],
            recorded_at=datetime.fromisoformat(wire["recorded_at"]),
        )

    def read_stream(self, stream: str, from_version: int = 1) -> list[RecordedEvent]:
        found = self._call("read_stream", stream=stream, from_version=from_version)
        return [self._recorded(wire) for wire in found]

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        found = self._call("read_all", after_position=after_position, limit=limit)
        return [self._recorded(wire) for wire in found]

    def head_position(self) -> int:
        return self._call("head_position")

    def is_processed(self, consumer: str, event_id: str) -> bool:
        return self._call("is_processed", consumer=consumer, event_id=event_id)

    def position(self, consumer: str) -> int:
        return self._call("position", consumer=consumer)

    def save_position(self, consumer: str, position: int) -> None:
        self._call("save_position", consumer=consumer, position=position)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._proc is not None and self._proc.poll() is None:
                try:
                    self._send(
                        dumps_line({"id": 0, "op": "close", "args": {}}), time.monotonic() + 5
                    )
                except _ChildLost:
                    pass
            self._stop_child(grace=5.0)


class SubprocessEventStore(SubprocessEventLog, EventStore):
    """A SQL event store served by a child process: what the pipe does, tested without a
    server (production runs SQL stores in-process)."""

    def __init__(self, spec: dict, **options: Any):
        if spec.get("kind") not in VIEW_KINDS:
            raise ValueError(f"store kind in {spec!r} keeps no views; known: {sorted(VIEW_KINDS)}")
        super().__init__(spec, **options)

    @contextmanager
    def unit_of_work(self) -> Iterator[SubprocessUnitOfWork]:
        uow = SubprocessUnitOfWork(self)
        yield uow
        self._commit(uow)

    def get_view(self, collection: str, key: str) -> dict | None:
        return self._call("get_view", collection=collection, key=key)

    def list_views(self, collection: str, after_key: str = "", limit: int = 500) -> ViewPage:
        return [
            (key, doc)
            for key, doc in self._call(
                "list_views", collection=collection, after_key=after_key, limit=limit
            )
        ]


def open_esdb_subprocess(
    uri: str,
    namespace: str,
    timeout: float = 10.0,
    *,
    upcasters: UpcasterChain = NO_UPCASTERS,
    unique_event_ids: bool = True,
    call_timeout: float | None = None,
    start_timeout: float = 30.0,
) -> SubprocessEventLog:
    """EventStoreDB in a child process; each call waits `timeout` for the server."""
    spec = {
        "kind": "esdb",
        "uri": uri,
        "namespace": namespace,
        "timeout": timeout,
        "unique_event_ids": unique_event_ids,
    }
    # esdbclient retries a failed RPC once, so the child may take twice its own deadline.
    return SubprocessEventLog(
        spec,
        upcasters=upcasters,
        start_timeout=start_timeout,
        call_timeout=call_timeout or 2 * timeout + 5,
    )
