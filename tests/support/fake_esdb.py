"""An in-memory stand-in for the esdbclient calls the EventStoreDB adapter makes. It checks the
adapter's protocol logic; it is not evidence about the server."""

from __future__ import annotations

import itertools
import re
import sys
import threading
from datetime import UTC, datetime

from esdbclient import NewEvent as EsdbNewEvent
from esdbclient import RecordedEvent as EsdbRecordedEvent
from esdbclient import StreamState
from esdbclient.exceptions import NotFound, WrongCurrentVersion


class FakeEsdbClient:
    """Server behaviour the adapter relies on: optimistic appends keyed on 0-based stream
    positions, idempotent repeats of the same ids at the same expected version, NotFound for
    missing streams, sparse commit positions shared with other namespaces and system streams,
    read_all inclusive of its start position, and regex stream-name filters."""

    def __init__(self, uri: str = "esdb://fake"):
        self.lock = threading.Lock()
        self.streams: dict[str, list[EsdbRecordedEvent]] = {}
        self.log: list[EsdbRecordedEvent] = []
        self.timeouts: list[float] = []
        self.next_position = itertools.count(1000, 137)
        self._store("$settings", [EsdbNewEvent(type="$settings", data=b"{}")])

    def _deadline(self, timeout) -> None:
        assert timeout is not None and 0 < timeout <= 60, f"RPC without a deadline: {timeout}"
        self.timeouts.append(timeout)

    def _store(self, name, events) -> int:
        stream = self.streams.setdefault(name, [])
        position = 0
        for event in events:
            position = next(self.next_position)
            stream.append(
                EsdbRecordedEvent(
                    type=event.type,
                    data=event.data,
                    metadata=event.metadata,
                    content_type=event.content_type,
                    id=event.id,
                    stream_name=name,
                    stream_position=len(stream),
                    commit_position=position,
                    prepare_position=position,
                    recorded_at=datetime.now(UTC),
                )
            )
            self.log.append(stream[-1])
        return position

    def append_to_stream(self, stream_name, *, current_version, events, timeout=None):
        self._deadline(timeout)
        events = [events] if isinstance(events, EsdbNewEvent) else list(events)
        with self.lock:
            existing = self.streams.get(stream_name, [])
            if current_version is StreamState.ANY:
                return self._store(stream_name, events)
            start = 0 if current_version is StreamState.NO_STREAM else current_version + 1
            if len(existing) == start:
                return self._store(stream_name, events)
            window = existing[start : start + len(events)]
            if [e.id for e in window] == [e.id for e in events]:
                return window[-1].commit_position  # an idempotent repeat
            if not existing:
                raise WrongCurrentVersion(f"Stream {stream_name!r} does not exist")
            raise WrongCurrentVersion(
                f"Stream position of last event is {len(existing) - 1} not {current_version}"
            )

    def get_stream(
        self, stream_name, *, stream_position=None, backwards=False, limit=sys.maxsize, timeout=None
    ):
        self._deadline(timeout)
        with self.lock:
            if stream_name not in self.streams:
                raise NotFound(f"Stream {stream_name!r} not found")
            found = list(self.streams[stream_name])
        if backwards:
            end = len(found) if stream_position is None else stream_position + 1
            return tuple(reversed(found[:end]))[:limit]
        return tuple(found[stream_position or 0 :])[:limit]

    def read_all(
        self,
        *,
        commit_position=None,
        filter_include=(),
        filter_by_stream_name=False,
        limit=sys.maxsize,
        timeout=None,
        **unused,
    ):
        self._deadline(timeout)
        assert filter_by_stream_name and filter_include, "read_all must filter by stream name"
        pattern = re.compile("^" + "|".join(filter_include) + "$")
        with self.lock:
            found = [
                e
                for e in self.log
                if (commit_position is None or e.commit_position >= commit_position)
                and pattern.match(e.stream_name)
            ]
        return iter(found[:limit])

    def get_commit_position(self, *, filter_include=(), filter_by_stream_name=False, timeout=None):
        found = list(
            self.read_all(
                filter_include=filter_include,
                timeout=timeout,
                filter_by_stream_name=filter_by_stream_name,
            )
        )
        return found[-1].commit_position if found else 0

    def set_stream_metadata(self, stream_name, *, metadata, timeout=None, **unused):
        self._deadline(timeout)
        with self.lock:
            self._store(f"$${stream_name}", [EsdbNewEvent(type="$metadata", data=b"{}")])

    def close(self):
        pass
