"""The child side of eventstore.esdb_subprocess: `python -m eventstore.esdb_subprocess_child
--spec JSON` opens the store the spec names and answers the parent's requests."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from typing import Any

from eventstore.errors import EventStoreError
from eventstore.esdb_subprocess_wire import (
    STORE_KINDS,
    dumps_line,
    encode_error,
    event_to_wire,
)
from eventstore.port import EventLog, ViewStore, ViewUnitOfWork
from eventstore.records import NewEvent, Tracking


def open_store_from_spec(spec: dict) -> EventLog:
    options = dict(spec)
    kind = options.pop("kind", None)
    if kind not in STORE_KINDS:
        raise ValueError(f"unknown store kind {kind!r}; known: {sorted(STORE_KINDS)}")
    module_name, class_name = STORE_KINDS[kind]
    module = __import__(module_name, fromlist=[class_name])
    return getattr(module, class_name)(**options)


def _commit(store: EventLog, ops: list) -> list[int]:
    versions = []
    with store.unit_of_work() as uow:
        for name, args in ops:
            if name == "append":
                events = [NewEvent(**wire) for wire in args["events"]]
                versions.append(uow.append(args["stream"], events, args["expected_version"]))
            elif name == "track":
                uow.track(Tracking(**args))
            elif not isinstance(uow, ViewUnitOfWork):
                raise NotImplementedError(f"{type(store).__name__} keeps no views")
            elif name == "put_view":
                uow.put_view(args["collection"], args["key"], args["doc"])
            elif name == "delete_view":
                uow.delete_view(args["collection"], args["key"])
            elif name == "expect_view":
                if uow.get_view(args["collection"], args["key"]) != args["doc"]:
                    raise EventStoreError(
                        f"view {args['collection']}/{args['key']} changed during the unit of work"
                    )
            else:
                raise ValueError(f"unknown unit-of-work operation {name!r}")
    return versions


def _views(store: EventLog) -> ViewStore:
    if not isinstance(store, ViewStore):
        raise NotImplementedError(f"{type(store).__name__} keeps no views")
    return store


def dispatch(store: EventLog, op: str, args: dict) -> Any:
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
    if op == "list_views":
        return _views(store).list_views(args["collection"], args["after_key"], args["limit"])
    if op == "get_view":
        return _views(store).get_view(args["collection"], args["key"])
    raise ValueError(f"unknown operation {op!r}")


def serve(spec: dict, requests: Any, out_fd: int) -> int:
    def answer(message: dict) -> None:
        data = memoryview(dumps_line(message))
        while data:
            data = data[os.write(out_fd, data) :]

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
