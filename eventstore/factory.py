"""Opens a store from a URL, so that deployment picks the adapter by configuration:

* `sqlite:///abs/path.db` or `sqlite:relative/path.db`: the embedded default;
* `postgresql://user@host:port/db?schema=escrow` (any libpq URI; `schema` and `create` are
  ours: `create=false` refuses a schema that `python -m platformrun.migrate` has not made);
* `esdb://host:2113?Tls=false&namespace=escrow`: EventStoreDB/KurrentDB, run in a child
  process because gRPC cannot share a process with eventlet.

`open_store` gives an event store with views (eventstore.port.EventStore), what services need,
and refuses URLs of stores that keep only a log, before connecting to anything.
`open_event_log` gives any store's log, what the relay and the park CLI need.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from eventstore.errors import EventStoreError
from eventstore.port import EventLog, EventStore
from eventstore.upcasting import NO_UPCASTERS, UpcasterChain

LOG_ONLY_SCHEMES = ("esdb", "esdb+discover", "kurrentdb")


class StoreKeepsNoViews(EventStoreError):
    """A service was configured with a store that keeps only an event log."""


def _scheme(url: str) -> str:
    return url.split(":", 1)[0]


def open_store(url: str, *, upcasters: UpcasterChain = NO_UPCASTERS, **options: Any) -> EventStore:
    scheme = _scheme(url)
    if scheme in LOG_ONLY_SCHEMES:
        raise StoreKeepsNoViews(
            f"a {scheme}:// store (EventStoreDB) keeps only the event log, but a service"
            " writes its views in the same transaction as its events; give the service a"
            " sqlite:// or postgresql:// URL (the relay and `python -m messaging.park` do"
            f" accept {scheme}://)"
        )
    store = open_event_log(url, upcasters=upcasters, **options)
    if not isinstance(store, EventStore):  # a scheme missing from LOG_ONLY_SCHEMES
        store.close()
        raise StoreKeepsNoViews(f"a {scheme}:// store keeps no views")
    return store


def open_event_log(
    url: str, *, upcasters: UpcasterChain = NO_UPCASTERS, **options: Any
) -> EventLog:
    scheme = _scheme(url)
    if scheme == "sqlite":
        from eventstore.sqlite import SqliteEventStore

        path = url[len("sqlite:") :]
        if path.startswith("//"):
            path = path[2:]
        return SqliteEventStore(path, upcasters=upcasters, **options)
    if scheme in ("postgresql", "postgres"):
        from eventstore.postgres import PostgresEventStore

        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        schema = query.pop("schema", None)
        create = query.pop("create", "true").lower() not in ("false", "no", "0")
        dsn = urlunsplit(parts._replace(query=urlencode(query)))
        options.setdefault("create", create)
        return PostgresEventStore(dsn, schema=schema, upcasters=upcasters, **options)
    if scheme in LOG_ONLY_SCHEMES:
        from eventstore.esdb_subprocess import open_esdb_subprocess

        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        namespace = query.pop("namespace", "platform")
        uri = urlunsplit(parts._replace(query=urlencode(query)))
        return open_esdb_subprocess(uri, namespace, upcasters=upcasters, **options)
    raise ValueError(f"unknown event store URL scheme: {scheme!r}")
