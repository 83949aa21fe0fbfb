"""Keyset pages over a store's views: the one place every service's list queries page.

A list is the keys of one view collection under a prefix, in key order. A page starts after
the caller's `after` (a key relative to the prefix, as returned in the previous page's
`next_after`), so rows written or deleted elsewhere in the list never shift a page the way
an offset would. `next_after` is None exactly when no further row of the list exists.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

CHUNK = 500
"""Rows read from the store per round trip while filling a page (the contract's page size)."""


def keyset_page(
    list_views: Callable[[str, str, int], list],
    collection: str,
    prefix: str,
    after: str,
    limit: int,
    keep: Callable[[str, dict], bool] = lambda key, doc: True,
) -> dict:
    """Up to `limit` (key, doc) rows of `collection` whose key starts with `prefix`, after
    `prefix + after`, that `keep` accepts; keys in the result are relative to the prefix.

    Returns {"rows": [(relative key, doc), ...], "next_after": relative key | None}. With a
    filter the scan goes on until one more accepted row proves there is a next page, so the
    last page's `next_after` is None rather than pointing at an empty page."""
    if limit < 1:
        raise ValueError("a page holds at least one row")
    rows: list[tuple[str, dict]] = []
    cursor = prefix + after
    while True:
        chunk = list_views(collection, cursor, CHUNK)
        for key, doc in chunk:
            if not key.startswith(prefix):
                return {"rows": rows, "next_after": None}
            if keep(key, doc):
                if len(rows) == limit:
                    return {"rows": rows, "next_after": rows[-1][0]}
                rows.append((key[len(prefix) :], doc))
        if len(chunk) < CHUNK:
            return {"rows": rows, "next_after": None}
        cursor = chunk[-1][0]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def newest_first(at: str) -> str:
    """A key part that sorts later instants first: an ISO 8601 time with its offset, as the
    microseconds left until 2286 (fixed width), for lists read newest first."""
    micros = (datetime.fromisoformat(at) - _EPOCH) // timedelta(microseconds=1)
    return f"{10**16 - micros:017d}"
