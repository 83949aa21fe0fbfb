"""The ledger's index of entries by merchant (`merchant_postings`), kept by ledger/log.py.

A row per merchant and written range of entries holds that merchant's entry indexes in the
range (a posting list). The index is derived from the entries, so it is not written in each
append's transaction: an append keeps its indexes in memory, and they are written together once
INDEX_FLUSH wait, before any read of the index, and on close. A row per entry, written with
each batch, rewrote most of the index in every append (appends fell from 0.64 to 0.39 of raw
SQLite); a flush writes one row per merchant. The `meta` row says how far the written index
covers; entries beyond it are indexed from their bytes, a chunk per transaction (at open, and
for indexes lost with a crashed process or a log written before the index existed).

Two processes may hold the same ledger (a writer whose lease lapsed unnoticed and the one that
took over). Each write of the index is one transaction that first checks the meta row still
says what this process last wrote: if another process moved it, the indexes this one holds in
memory may already be written (in other rows, by chunk), so they are discarded and the entries
are indexed again from the meta row. The meta row only grows.
"""

from __future__ import annotations

import struct
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator

from ledger.entry import merchant_of
from ledger.storage import LedgerDb

MERCHANT_INDEXED = "merchant_postings_size"
"""The meta row: how many entries (from index 0) the merchant index covers. (The index had a
row per entry, in `merchant_entries` under `merchant_entries_size`; it is rebuilt as postings.)"""
BACKFILL_CHUNK = 5000
INDEX_FLUSH = 20_000
"""Merchant index rows kept in memory before they are written in one transaction."""

EntryReader = Callable[[int, int], Iterator[tuple[int, bytes]]]
"""entries(start, end) -> (index, entry) for each entry in [start, end), in order."""


class MerchantIndex:
    """The index of one ledger; its caller (the Ledger) holds its lock around every call."""

    def __init__(self, db: LedgerDb, entries: EntryReader):
        self._db = db
        self._entries = entries
        self.indexed: int | None = None
        """How far the index covers with `_unwritten`, once `catch_up` ran (None before)."""
        self._unwritten: defaultdict[str, list[int]] = defaultdict(list)
        """Each merchant's entry indexes from `_written` to `indexed`."""
        self._written = 0
        """What the meta row said when this process last wrote or read it."""

    def covered(self) -> int:
        """How many entries, from index 0, the written index covers (the meta row)."""
        row = self._db.one("SELECT value FROM meta WHERE name = ?", (MERCHANT_INDEXED,))
        return 0 if row is None else int(row[0])

    def discard(self) -> None:
        """Forgets the indexes held in memory; `catch_up` reads them again from the entries."""
        self.indexed = None
        self._unwritten = defaultdict(list)
        self._written = 0

    def catch_up(self, size: int, chunk: int | None = None) -> int:
        """Indexes the entries below `size` the written index does not cover, a chunk per
        transaction; returns how many entries it read. Idempotent."""
        chunk = chunk or BACKFILL_CHUNK
        self.flush(size)
        read = 0
        while (start := self.covered()) < size:
            end = min(start + chunk, size)
            postings: defaultdict[str, list[int]] = defaultdict(list)
            for index, entry in self._entries(start, end):
                if (merchant := merchant_of(bytes(entry))) is not None:
                    postings[merchant].append(index)
            # Another process may have written this range meanwhile: then it is read again
            # from where that process left the meta row.
            if self._commit(postings, start, end):
                read += end - start
        # Beyond `size` when another process indexed further: appends then keep nothing in
        # memory (`appended` needs indexed == the size appended to) until the next catch-up.
        self.indexed = self._written = self.covered()
        self._unwritten = defaultdict(list)
        return read

    def appended(self, size: int, postings: Iterable[tuple[str, int]], new_size: int) -> None:
        """Keeps the indexes of the entries from `size` to `new_size` just appended."""
        if self.indexed != size:
            return  # not caught up: `catch_up` reads these entries when it runs
        self.indexed = new_size
        for merchant, index in postings:
            self._unwritten[merchant].append(index)
        if new_size - self._written >= INDEX_FLUSH:
            self.flush(new_size)

    def flush(self, size: int) -> None:
        """Writes the indexes kept in memory, unless another process moved the meta row since
        this one last wrote it: then they are discarded and the entries below `size` indexed
        again from the meta row."""
        if self.indexed is None or self.indexed == self._written:
            return
        if self._commit(self._unwritten, self._written, self.indexed):
            self._unwritten = defaultdict(list)
            self._written = self.indexed
            return
        self.discard()
        self.catch_up(size)

    def entry_indexes(self, merchant_id: str, before: int, limit: int) -> list[int]:
        """The written index's entries naming `merchant_id` below `before`, newest first: one
        range of the index's primary key, whatever the depth."""
        found: list[int] = []
        blocks = self._db.rows(
            "SELECT idxs FROM merchant_postings WHERE merchant_id = ? AND first_idx < ?"
            " ORDER BY first_idx DESC",
            (merchant_id, before),
        )
        for (packed,) in blocks:
            found.extend(i for i in reversed(_unpack(packed)) if i < before)
            if len(found) >= limit:
                break
        return found[:limit]

    def _commit(self, postings: dict[str, list[int]], start: int, end: int) -> bool:
        """Writes the postings of entries [start, end) and moves the meta row to `end`, in one
        transaction, if the meta row still says `start`; False (nothing written) if not."""
        with self._db.transaction():
            if self.covered() != start:
                return False
            # Each list is ascending and lies past every written one. Upsert: a range re-read
            # after a crash (rows written, process gone before it knew) writes the same.
            self._db.executemany(
                "INSERT INTO merchant_postings VALUES (?, ?, ?)"
                " ON CONFLICT (merchant_id, first_idx) DO UPDATE SET idxs = excluded.idxs",
                sorted((m, idxs[0], _pack(idxs)) for m, idxs in postings.items() if idxs),
            )
            self._db.execute(
                "INSERT INTO meta VALUES (?, ?) ON CONFLICT (name)"
                " DO UPDATE SET value = excluded.value WHERE meta.value < excluded.value",
                (MERCHANT_INDEXED, end),
            )
        return True


def _pack(indexes: list[int]) -> bytes:
    return struct.pack(f"<{len(indexes)}q", *indexes)


def _unpack(packed: bytes) -> tuple[int, ...]:
    return struct.unpack(f"<{len(packed) // 8}q", packed)
