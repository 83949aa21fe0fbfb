"""Opens a store from a URL, so that deployment picks the adapter by configuration:

* `sqlite:///abs/path.db` or `sqlite:relative/path.db`: the embedded default;
* `postgresql://user@host:port/db?schema=escrow` (any libpq URI; `schema` is ours);
* `esdb://host:2113?Tls=false&namespace=escrow`: EventStoreDB/KurrentDB, run in a child
  process because gRPC cannot share a process with eventlet.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from eventstore.port import EventStore
from eventstore.upcasting import NO_UPCASTERS, UpcasterChain


def open_store(url: str, *, upcasters: UpcasterChain = NO_UPCASTERS, **options) -> EventStore:
    scheme = url.split(":", 1)[0]
    if scheme == "sqlite":
        from eventstore.sqlite import SqliteEventStore

        path = url[len("sqlite:"):]
        if path.startswith("//"):
            path = path[2:]
        return SqliteEventStore(path, upcasters=upcasters, **options)
    if scheme in ("postgresql", "postgres"):
        from eventstore.postgres import PostgresEventStore

        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        schema = query.pop("schema", None)
        dsn = urlunsplit(parts._replace(query=urlencode(query)))
        return PostgresEventStore(dsn, schema=schema, upcasters=upcasters, **options)
    if scheme in ("esdb", "esdb+discover", "kurrentdb"):
        from eventstore.isolated import open_isolated_esdb

        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        namespace = query.pop("namespace", "platform")
        uri = urlunsplit(parts._replace(query=urlencode(query)))
        return open_isolated_esdb(uri, namespace, upcasters=upcasters, **options)
    raise ValueError(f"unknown event store URL scheme: {scheme!r}")
