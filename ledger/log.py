"""The ledger's store: entries, their leaf hashes, the tree's perfect subtrees and checkpoints.

One SQLite file (WAL, synchronous=FULL), or one PostgreSQL schema (`Ledger.open` takes a path
or a `postgresql://…?schema=` URL; the two engines are behind ledger/storage.py). Each append
batch is one transaction, hence one fsync (one commit), and may carry the signed checkpoint of
the tree it produces, so a checkpoint is never durable without its entries nor the reverse.
A batch first compares the stored size with the size this process knows: a ledger another
process appended to since (a writer that took over, then lost its lease back) is reloaded
before the batch is written, so no two processes ever give out the same index.

Stored nodes are the hashes of perfect subtrees of at least 2**STORED_LEVEL leaves, written
once when they complete and never changed; a smaller subtree is rehashed from at most
2**STORED_LEVEL - 1 leaf hashes read in one range query (level 0 is the leaf hash kept with
its entry). Not storing the bottom levels saves most of the node writes. The right edge of the
tree (the "compact range") is kept in memory, so an append reads nothing, and any root or
proof needs O(log n) node reads. `verify` never trusts these nodes: it rehashes the entries.

`merchant_postings` indexes the entries by the merchant their parties name (a posting list per
merchant and written range): ledger/merchant_index.py, which keeps the indexes of appends in
memory and writes them together.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger import merkle
from ledger.entry import merchant_of
from ledger.merchant_index import MerchantIndex
from ledger.storage import SQLITE_SCHEMA, LedgerDb, SqliteLedgerDb, open_ledger_db

SCHEMA = SQLITE_SCHEMA

STORED_LEVEL = 4
STALE_RETRIES = 5
"""Batches tried in a row, each after reloading the tree another writer grew meanwhile."""

Prover = Callable[[int], list[bytes]]
"""prove(old_size) -> the consistency proof from old_size to the tree being signed."""
SignCheckpoint = Callable[[int, bytes, Prover], str]
"""sign(size, root, prove) -> the signed checkpoint note for that tree."""


class StaleTree(RuntimeError):
    """Another process appended since this one last read the stored size."""

    def __init__(self, known: int, stored: int):
        super().__init__(f"the ledger grew from {known} to {stored} under another writer")


class LedgerShrank(RuntimeError):
    """The stored ledger has fewer entries than this process appended: a ledger never loses
    entries, so they were deleted, or the store is another ledger (a restored backup)."""


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str
    cosignatures: dict[str, str]


class Ledger:
    def __init__(self, db: LedgerDb | sqlite3.Connection, path: str | None = None):
        if isinstance(db, sqlite3.Connection):
            db = SqliteLedgerDb(db, path or "")
        self._db = db
        self.path = db.location
        self._lock = threading.RLock()
        self._size = self._stored_size()
        self._index = MerchantIndex(db, self.entries)
        self._frontier = [
            (end - start, self._perfect(start, end))
            for start, end in merkle.perfect_ranges(0, self._size)
        ]

    @classmethod
    def open(
        cls, location: str | Path, *, synchronous: str = "FULL", pool_size: int | None = None
    ) -> Ledger:
        """A file path (created if missing), or a migrated `postgresql://…?schema=` URL (at
        most `pool_size` connections to it)."""
        ledger = cls(open_ledger_db(location, synchronous=synchronous, pool_size=pool_size))
        ledger.index_merchants()
        return ledger

    @classmethod
    def open_readonly(cls, location: str | Path) -> Ledger:
        """For auditors and `verify`: never writes, never creates the file."""
        return cls(open_ledger_db(location, read_only=True))

    def close(self) -> None:
        with self._lock:
            self._index.flush(self._size)
            self._db.close()

    def _stored_size(self) -> int:
        row = self._db.one("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries")
        return int(row[0]) if row else 0

    def _reload(self) -> None:
        """Takes the stored tree as it is: another process appended since (callers hold the
        lock). The merchant indexes kept in memory are discarded: the other process may have
        written them already (it indexed these entries when it opened the ledger), so the
        entries are indexed again from where the written index ends."""
        stored = self._stored_size()
        if stored < self._size:
            raise LedgerShrank(
                f"{self.path} holds {stored} entries, fewer than the {self._size} this process"
                " knows: entries were deleted, or this is another ledger (a restored backup?)"
            )
        self._index.discard()
        self._size = stored
        self._frontier = [
            (end - start, self._perfect(start, end))
            for start, end in merkle.perfect_ranges(0, self._size)
        ]
        self._index.catch_up(self._size)

    # --- reading ---------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return self._size

    def entry(self, index: int) -> bytes:
        return self._row("SELECT entry FROM entries WHERE idx = ?", index)

    def leaf(self, index: int) -> bytes:
        return self._row("SELECT leaf FROM entries WHERE idx = ?", index)

    def index_of(self, event_id: str) -> int | None:
        row = self._db.one("SELECT idx FROM entries WHERE event_id = ?", (event_id,))
        return None if row is None else row[0]

    def _indexes_of(self, event_ids: list[str]) -> dict[str, int]:
        rows = self._db.rows_in("SELECT event_id, idx FROM entries WHERE event_id {in}", event_ids)
        return {event_id: index for event_id, index in rows}

    def entries(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        rows = self._db.rows(
            "SELECT idx, entry FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
        )
        yield from ((index, bytes(entry)) for index, entry in rows)

    def merchant_entries(
        self, merchant_id: str, before: int | None = None, limit: int = 100
    ) -> list[tuple[int, bytes]]:
        """The entries naming `merchant_id`, newest first, below index `before` (all when
        None)."""
        with self._lock:
            self._index.flush(self._size)
            before = self._size if before is None else before
            found = self._index.entry_indexes(merchant_id, before, limit)
            entries = dict(self._entries_at(found))
        return [(index, entries[index]) for index in found]

    def _entries_at(self, indexes: list[int]) -> Iterator[tuple[int, bytes]]:
        rows = self._db.rows_in("SELECT idx, entry FROM entries WHERE idx {in}", indexes)
        yield from ((index, bytes(entry)) for index, entry in rows)

    def merchant_indexed(self) -> int:
        """How many entries, from index 0, the merchant index covers."""
        return self._index.covered()

    def index_merchants(self, chunk: int | None = None) -> int:
        """Indexes the entries the merchant index does not cover yet (a log written before
        it existed), a chunk per transaction; returns how many entries it read. Idempotent."""
        with self._lock:
            return self._index.catch_up(self._size, chunk)

    def _row(self, sql: str, key) -> bytes:
        row = self._db.one(sql, (key,))
        if row is None:
            raise IndexError(f"no entry {key} in a ledger of size {self._size}")
        return bytes(row[0])

    def _perfect(self, start: int, end: int) -> bytes:
        level = (end - start).bit_length() - 1
        if level == 0:
            return self.leaf(start)
        if level < STORED_LEVEL:
            rows = self._db.rows(
                "SELECT leaf FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
            )
            leaves = [bytes(leaf) for (leaf,) in rows]
            if len(leaves) != end - start:
                raise LookupError(f"leaves [{start}, {end}) missing from {self.path}")
            return merkle.root(leaves)
        row = self._db.one(
            "SELECT hash FROM nodes WHERE level = ? AND idx = ?", (level, start >> level)
        )
        if row is None:
            raise LookupError(f"node ({level}, {start >> level}) missing from {self.path}")
        return bytes(row[0])

    def _subtree(self, start: int, end: int) -> bytes:
        ranges = merkle.perfect_ranges(start, end)
        return merkle.fold_right([self._perfect(s, e) for s, e in ranges])

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self._size:
            raise ValueError(f"size {size} is beyond the ledger's {self._size} entries")

    def root(self, size: int | None = None) -> bytes:
        with self._lock:
            if size is None or size == self._size:
                return merkle.fold_right([digest for _, digest in self._frontier])
            self._check_size(size)
            return self._subtree(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        with self._lock:
            size = self._size if size is None else size
            self._check_size(size)
            return merkle.inclusion_proof(index, size, self._subtree)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        with self._lock:
            size2 = self._size if size2 is None else size2
            self._check_size(size2)
            return merkle.consistency_proof(size1, size2, self._subtree)

    # --- writing -----------------------------------------------------------------------------
    def append(self, entry: bytes, *, event_id: str | None = None) -> int:
        return self.append_batch([(event_id, entry)])[0]

    def append_batch(
        self,
        items: Sequence[tuple[str | None, Any] | bytes],
        *,
        build: Callable[[int, bytes, Any], bytes] | None = None,
        sign: SignCheckpoint | None = None,
    ) -> list[int]:
        """Appends in one transaction; returns each item's index.

        An item is an entry, or (event id, payload): the payload is the entry itself, or with
        `build` whatever build takes. An item whose event id is already in the ledger is not
        appended again: its existing index is returned. `build(index, previous_leaf, payload)`
        turns an item's payload into its entry bytes once its index is known (entries name
        their index and chain to the previous leaf). `sign(size, root, prove)` returns the
        checkpoint note stored with the batch; `prove(old_size)` gives it the consistency proof
        to check first.
        """
        pairs = [item if isinstance(item, tuple) else (None, item) for item in items]
        with self._lock:
            for _ in range(STALE_RETRIES - 1):
                try:
                    return self._append_once(pairs, build, sign)
                except StaleTree:
                    self._reload()
            return self._append_once(pairs, build, sign)

    def _append_once(
        self,
        pairs: list[tuple[str | None, Any]],
        build: Callable[[int, bytes, Any], bytes] | None,
        sign: SignCheckpoint | None,
    ) -> list[int]:
        frontier = list(self._frontier)
        size = self._size
        indexes: list[int] = []
        entry_rows: list[tuple] = []
        node_rows: list[tuple] = []
        merchant_rows: list[tuple[str, int]] = []
        with self._db.transaction():
            if (stored := self._stored_size()) != size:
                raise StaleTree(size, stored)
            previous = self.leaf(size - 1) if size else b""
            seen = self._indexes_of([event_id for event_id, _ in pairs if event_id])
            for event_id, payload in pairs:
                if event_id is not None:
                    existing = seen.get(event_id)
                    if existing is not None:
                        indexes.append(existing)
                        continue
                    seen[event_id] = size
                entry = build(size, previous, payload) if build else payload
                leaf = merkle.leaf_hash(entry)
                entry_rows.append((size, event_id, entry, leaf))
                node_rows.extend(_grow(frontier, size, leaf))
                # The summary an entry is built from names its parties; bytes are read.
                merchant = merchant_of(payload if build else entry)
                if merchant is not None:
                    merchant_rows.append((merchant, size))
                indexes.append(size)
                previous = leaf
                size += 1
            self._db.insert("entries", entry_rows)
            self._db.insert("nodes", node_rows)
            if sign is not None and size > self._size:
                new_root = merkle.fold_right([digest for _, digest in frontier])

                # The batch's nodes are already inserted, so this transaction's reads see
                # the new tree.
                def prove(old_size: int, new_size: int = size) -> list[bytes]:
                    return merkle.consistency_proof(old_size, new_size, self._subtree)

                self._db.execute(
                    "INSERT INTO checkpoints VALUES (?, ?, ?)",
                    (size, new_root, sign(size, new_root, prove)),
                )
        old_size, self._frontier, self._size = self._size, frontier, size
        self._index.appended(old_size, merchant_rows, size)
        return indexes

    # --- checkpoints -------------------------------------------------------------------------
    def save_checkpoint(self, size: int, note: str) -> None:
        with self._lock:
            self._check_size(size)
            self._db.execute(
                "INSERT INTO checkpoints VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (size, self.root(size), note),
            )

    def add_cosignature(self, size: int, witness: str, line: str) -> None:
        self._db.execute(
            "INSERT INTO cosignatures VALUES (?, ?, ?) ON CONFLICT (size, witness)"
            " DO UPDATE SET line = excluded.line",
            (size, witness, line),
        )

    def checkpoint(self, size: int) -> StoredCheckpoint | None:
        row = self._db.one("SELECT root, note FROM checkpoints WHERE size = ?", (size,))
        if row is None:
            return None
        cosigned = dict(
            self._db.rows("SELECT witness, line FROM cosignatures WHERE size = ?", (size,))
        )
        return StoredCheckpoint(size, bytes(row[0]), row[1], cosigned)

    def checkpoint_sizes(self) -> list[int]:
        rows = self._db.rows("SELECT size FROM checkpoints ORDER BY size")
        return [int(size) for (size,) in rows]

    def checkpoints(self) -> Iterator[StoredCheckpoint]:
        for size in self.checkpoint_sizes():
            checkpoint = self.checkpoint(size)
            if checkpoint is not None:  # always: a checkpoint is never deleted
                yield checkpoint

    def latest_checkpoint(self, witnesses: Sequence[str] = ()) -> StoredCheckpoint | None:
        """The newest checkpoint cosigned by every named witness (any, when none is named)."""
        marks = ",".join("?" * len(witnesses))
        row = self._db.one(
            "SELECT MAX(size) FROM checkpoints c WHERE ? = (SELECT COUNT(*) FROM cosignatures s"
            f" WHERE s.size = c.size AND s.witness IN ({marks or 'NULL'}))",
            (len(witnesses), *witnesses),
        )
        return None if row is None or row[0] is None else self.checkpoint(int(row[0]))


def _grow(frontier: list[tuple[int, bytes]], index: int, leaf: bytes) -> list[tuple]:
    """Adds leaf `index` to the compact range; returns the perfect nodes it completes."""
    completed = []
    size, digest = 1, leaf
    while frontier and frontier[-1][0] == size:
        _, left = frontier.pop()
        size, digest = size * 2, merkle.node_hash(left, digest)
        level = size.bit_length() - 1
        if level >= STORED_LEVEL:
            completed.append((level, index >> level, digest))
    frontier.append((size, digest))
    return completed
