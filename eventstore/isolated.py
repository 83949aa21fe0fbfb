"""Runs an event store in a child process and forwards every port call to it as JSON lines.

Why: gRPC (esdbclient) blocks the eventlet hub and crashes under tpool, so the EventStoreDB
adapter cannot live in an eventlet process. The parent side here uses only `subprocess`,
`select` and raw pipe reads and writes: under eventlet's monkey patching `select` is green, so
a greenthread waiting for the child lets the others run.

Protocol: the child (`python -m eventstore.isolated --spec JSON`) opens the store the spec
names, writes one line `{"ready": true}` (or `{"error": ...}`), then answers each request line
`{"id", "op", "args"}` with one line `{"id", "ok": result}` or `{"id", "error": {...}}`. Requests
are serialised by a lock, so there is one request in flight. Errors keep their type (and the
fields of ConcurrencyError and AlreadyProcessed); datetimes cross as ISO strings.

A unit of work is buffered in the parent and sent as one `commit` request that the child runs
in one unit of work of its own. Reads of views inside it are sent along as expectations the
child re-checks in its transaction, so a read-modify-write of a view cannot lose an update.
Upcasters are functions and cannot cross the pipe: the parent applies them to what it reads.

Every call has a deadline (`call_timeout`). A child that misses it, dies or answers out of step
is killed and the call raises StoreUnavailable (the outcome of a write is then unknown); the
next call starts a new child. A child found dead before a request is replaced transparently.
"""
from __future__ import annotations

import argparse
import json
import os
import posix
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from eventstore.errors import AlreadyProcessed, ConcurrencyError, EventStoreError, StoreUnavailable
from eventstore.port import EventStore, UnitOfWork
from eventstore.records import NewEvent, RecordedEvent, Tracking
from eventstore.upcasting import NO_UPCASTERS, UpcasterChain

STORE_KINDS = {
    "sqlite": ("eventstore.sqlite", "SqliteEventStore"),
    "postgres": ("eventstore.postgres", "PostgresEventStore"),
    "esdb": ("eventstore.esdb", "EsdbEventStore"),
}
ERROR_TYPES = {cls.__name__: cls for cls in (
    ConcurrencyError, AlreadyProcessed, StoreUnavailable, EventStoreError,
    ValueError, TypeError, NotImplementedError,
)}
_SOURCE_ROOT = str(Path(__file__).resolve().parent.parent)


def _dumps(value: Any) -> bytes:
    # JSON escapes newlines inside strings, so one message is exactly one line.
    return json.dumps(value, separators=(",", ":")).encode() + b"\n"


def encode_error(exc: BaseException) -> dict:
    fields: dict = {}
    if isinstance(exc, ConcurrencyError):
        fields = {"stream": exc.stream, "expected": exc.expected, "actual": exc.actual}
    elif isinstance(exc, AlreadyProcessed):
        fields = {"consumer": exc.consumer, "event_id": exc.event_id}
    for cls in type(exc).__mro__:
        if ERROR_TYPES.get(cls.__name__) is cls:
            return {"type": cls.__name__, "message": str(exc), "fields": fields}
    return {"type": "EventStoreError", "message": f"{type(exc).__name__}: {exc}", "fields": {}}


def _snapshot(value: Any) -> Any:
    """A JSON copy, taken when the caller hands the value over (as SQL encodes it then), so
    later changes to the caller's dicts do not leak into a buffered unit of work."""
    return json.loads(json.dumps(value))


def decode_error(error: dict) -> Exception:
    cls = ERROR_TYPES.get(error.get("type"), EventStoreError)
    if error.get("fields"):
        return cls(**error["fields"])
    return cls(error.get("message", ""))


def event_to_wire(event: RecordedEvent) -> dict:
    return {"id": event.id, "type": event.type, "data": event.data, "metadata": event.metadata,
            "stream": event.stream, "version": event.version, "position": event.position,
            "recorded_at": event.recorded_at.isoformat()}


def new_event_to_wire(event: NewEvent) -> dict:
    return {"id": event.id, "type": event.type, "data": event.data, "metadata": event.metadata}


# --- parent side ---------------------------------------------------------------------------
class _ChildLost(Exception):
    """The child cannot be trusted to answer in step any more."""


class IsolatedUnitOfWork(UnitOfWork):
    def __init__(self, store: IsolatedEventStore):
        self._store = store
        self.ops: list[list] = []
        self._views: dict[tuple[str, str], Any] = {}

    def append(self, stream: str, events: Sequence[NewEvent], expected_version: int) -> int:
        if not isinstance(expected_version, int) or expected_version < 0:
            raise ValueError("expected_version must be a stream version (0 for a new stream)")
        if not events:
            raise ValueError("append needs at least one event")
        wire = _snapshot([new_event_to_wire(e) for e in events])
        self.ops.append(["append", {"stream": stream, "expected_version": expected_version,
                                    "events": wire}])
        return expected_version + len(events)

    def track(self, tracking: Tracking) -> None:
        # Checked early so a duplicate skips the consumer's work; the commit checks again.
        if self._store.is_processed(tracking.consumer, tracking.event_id):
            raise AlreadyProcessed(tracking.consumer, tracking.event_id)
        self.ops.append(["track", {"consumer": tracking.consumer, "event_id": tracking.event_id,
                                   "position": tracking.position}])

    def put_view(self, collection: str, key: str, doc: dict) -> None:
        self._views[(collection, key)] = doc = _snapshot(doc)
        self.ops.append(["put_view", {"collection": collection, "key": key, "doc": doc}])

    def get_view(self, collection: str, key: str) -> dict | None:
        if (collection, key) in self._views:
            return _snapshot(self._views[(collection, key)])
        doc = self._store.get_view(collection, key)
        self.ops.append(["expect_view", {"collection": collection, "key": key,
                                         "doc": _snapshot(doc)}])
        return doc


class IsolatedEventStore(EventStore):
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
            [self._python, "-m", "eventstore.isolated", "--spec", json.dumps(self.spec)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        )
        self._buffer = bytearray()
        for pipe in (self._proc.stdin, self._proc.stdout):
            os.set_blocking(pipe.fileno(), False)
        try:
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
                pipe.close()
            except OSError:
                pass

    @staticmethod
    def _left(deadline: float) -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _ChildLost("no answer before the deadline")
        return left

    # posix.read/posix.write rather than os.*: eventlet's green os.write retries EPIPE forever,
    # and select has already waited (greenly) for the pipe to be ready.
    def _send(self, data: bytes, deadline: float) -> None:
        fd = self._proc.stdin.fileno()
        view = memoryview(data)
        while view:
            _, ready, _ = select.select([], [fd], [], self._left(deadline))
            if not ready:
                continue
            try:
                view = view[posix.write(fd, view):]
            except BlockingIOError:
                continue
            except OSError as exc:
                raise _ChildLost(f"cannot write to it ({exc})") from None

    def _receive(self, deadline: float) -> dict:
        fd = self._proc.stdout.fileno()
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
                raise _ChildLost(f"it exited (status {self._proc.poll()})")
            self._buffer += chunk
        line = bytes(self._buffer[:end])
        del self._buffer[:end + 1]
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
                self._send(_dumps({"id": request_id, "op": op, "args": args}), deadline)
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
    def unit_of_work(self) -> Iterator[IsolatedUnitOfWork]:
        uow = IsolatedUnitOfWork(self)
        yield uow
        if uow.ops:
            self._call("commit", ops=uow.ops)

    def _recorded(self, wire: dict) -> RecordedEvent:
        type_name, data = wire["type"], wire["data"]
        if self.upcasters:
            type_name, data = self.upcasters.upcast(type_name, data)
        return RecordedEvent(
            id=wire["id"], type=type_name, data=data, metadata=wire["metadata"],
            stream=wire["stream"], version=wire["version"], position=wire["position"],
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

    def get_view(self, collection: str, key: str) -> dict | None:
        return self._call("get_view", collection=collection, key=key)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._proc is not None and self._proc.poll() is None:
                try:
                    self._send(_dumps({"id": 0, "op": "close", "args": {}}),
                               time.monotonic() + 5)
                except _ChildLost:
                    pass
            self._stop_child(grace=5.0)


def open_isolated_esdb(
    uri: str,
    namespace: str,
    timeout: float = 10.0,
    *,
    upcasters: UpcasterChain = NO_UPCASTERS,
    unique_event_ids: bool = True,
    call_timeout: float | None = None,
    start_timeout: float = 30.0,
) -> IsolatedEventStore:
    """EventStoreDB in a child process; each call waits `timeout` for the server."""
    spec = {"kind": "esdb", "uri": uri, "namespace": namespace, "timeout": timeout,
            "unique_event_ids": unique_event_ids}
    # esdbclient retries a failed RPC once, so the child may take twice its own deadline.
    return IsolatedEventStore(spec, upcasters=upcasters, start_timeout=start_timeout,
                              call_timeout=call_timeout or 2 * timeout + 5)


# --- child side ----------------------------------------------------------------------------
def open_store_from_spec(spec: dict) -> EventStore:
    options = dict(spec)
    kind = options.pop("kind", None)
    if kind not in STORE_KINDS:
        raise ValueError(f"unknown store kind {kind!r}; known: {sorted(STORE_KINDS)}")
    module_name, class_name = STORE_KINDS[kind]
    module = __import__(module_name, fromlist=[class_name])
    return getattr(module, class_name)(**options)


def _commit(store: EventStore, ops: list) -> list[int]:
    versions = []
    with store.unit_of_work() as uow:
        for name, args in ops:
            if name == "append":
                events = [NewEvent(**wire) for wire in args["events"]]
                versions.append(uow.append(args["stream"], events, args["expected_version"]))
            elif name == "track":
                uow.track(Tracking(**args))
            elif name == "put_view":
                uow.put_view(args["collection"], args["key"], args["doc"])
            elif name == "expect_view":
                if uow.get_view(args["collection"], args["key"]) != args["doc"]:
                    raise EventStoreError(
                        f"view {args['collection']}/{args['key']} changed during the unit of work")
            else:
                raise ValueError(f"unknown unit-of-work operation {name!r}")
    return versions


def dispatch(store: EventStore, op: str, args: dict) -> Any:
    if op == "commit":
        return _commit(store, args["ops"])
    if op == "read_stream":
        return [event_to_wire(e) for e in store.read_stream(args["stream"], args["from_version"])]
    if op == "read_all":
        return [event_to_wire(e) for e in store.read_all(args["after_position"], args["limit"])]
    if op == "head_position":
        return store.head_position()
    if op == "is_processed":
        return store.is_processed(args["consumer"], args["event_id"])
    if op == "position":
        return store.position(args["consumer"])
    if op == "save_position":
        return store.save_position(args["consumer"], args["position"])
    if op == "get_view":
        return store.get_view(args["collection"], args["key"])
    raise ValueError(f"unknown operation {op!r}")


def serve(spec: dict, requests: Any, out_fd: int) -> int:
    def answer(message: dict) -> None:
        data = memoryview(_dumps(message))
        while data:
            data = data[os.write(out_fd, data):]

    try:
        store = open_store_from_spec(spec)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
        answer({"error": encode_error(exc)})
        return 1
    answer({"ready": True})
    try:
        for line in iter(requests.readline, b""):
            request = json.loads(line)
            if request["op"] == "close":
                break
            try:
                answer({"id": request["id"], "ok": dispatch(store, request["op"], request["args"])})
            except Exception as exc:  # noqa: BLE001 - every failure crosses to the parent
                answer({"id": request["id"], "error": encode_error(exc)})
    finally:
        store.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Host an event store for a parent process")
    parser.add_argument("--spec", required=True, help='JSON, e.g. {"kind": "sqlite", "path": ...}')
    args = parser.parse_args(argv)
    # Ctrl-C reaches the whole process group; the child finishes its request and leaves when
    # the parent closes its stdin instead of dying halfway through a write.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Only protocol lines may reach the parent: whatever else prints goes to stderr.
    out_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return serve(json.loads(args.spec), sys.stdin.buffer, out_fd)


if __name__ == "__main__":
    sys.exit(main())
