"""The ledger file: entries, their leaf hashes, the tree's perfect subtrees and checkpoints.

One SQLite file (WAL, synchronous=FULL). Each append batch is one transaction, hence one
fsync, and may carry the signed checkpoint of the tree it produces, so a checkpoint is never
durable without its entries nor the reverse.

Stored nodes are the hashes of perfect subtrees of at least 2**STORED_LEVEL leaves, written
once when they complete and never changed; a smaller subtree is rehashed from at most
2**STORED_LEVEL - 1 leaf hashes read in one range query (level 0 is the leaf hash kept with
its entry). Not storing the bottom levels saves most of the node writes. The right edge of the
tree (the "compact range") is kept in memory, so an append reads nothing, and any root or
proof needs O(log n) node reads. `verify` never trusts these nodes: it rehashes the entries.

`merchant_postings` indexes the entries by the merchant their parties name: a row per merchant
and written range of entries, holding that merchant's entry indexes in the range (a posting
list). The index is derived from the entries, so it is not written in each append's
transaction: an append keeps its indexes in memory, and they are written together once
INDEX_FLUSH wait, before any read of the index, and on close. A row per entry, written with
each batch, rewrote most of the index in every append (appends fell from 0.64 to 0.39 of raw
SQLite); a flush writes one row per merchant. The `meta` row says how far the written index
covers; at open the entries beyond it are indexed from their bytes, so indexes lost with a
crashed process, and a log written before the index existed, are indexed then, by chunk.
"""

from __future__ import annotations

import sqlite3
import struct
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger import merkle
from ledger.entry import merchant_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    idx      INTEGER PRIMARY KEY,
    event_id TEXT UNIQUE,
    entry    BLOB NOT NULL,
    leaf     BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cosignatures (
    size    INTEGER NOT NULL,
    witness TEXT NOT NULL,
    line    TEXT NOT NULL,
    PRIMARY KEY (size, witness)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS merchant_postings (
    merchant_id TEXT NOT NULL,
    first_idx   INTEGER NOT NULL,
    idxs        BLOB NOT NULL,
    PRIMARY KEY (merchant_id, first_idx)
) WITHOUT ROWID;
DROP TABLE IF EXISTS merchant_entries;
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""

MERCHANT_INDEXED = "merchant_postings_size"
"""The meta row: how many entries (from index 0) the merchant index covers. (The index had a
row per entry, in `merchant_entries` under `merchant_entries_size`; it is rebuilt as postings.)"""
BACKFILL_CHUNK = 5000
INDEX_FLUSH = 20_000
"""Merchant index rows kept in memory before they are written in one transaction."""

STORED_LEVEL = 4

Prover = Callable[[int], list[bytes]]
"""prove(old_size) -> the consistency proof from old_size to the tree being signed."""
SignCheckpoint = Callable[[int, bytes, Prover], str]
"""sign(size, root, prove) -> the signed checkpoint note for that tree."""


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str
    cosignatures: dict[str, str]


class Ledger:
    def __init__(self, conn: sqlite3.Connection, path: str):
        self._conn = conn
        self.path = path
        self._lock = threading.RLock()
        self._size = conn.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries").fetchone()[0]
        self._indexed: int | None = None
        """How far the merchant index covers with `_unwritten`, once `index_merchants` ran."""
        self._unwritten: defaultdict[str, list[int]] = defaultdict(list)
        """Each merchant's entry indexes from `_written` to `_indexed`."""
        self._written = 0
        """How far the written index covers (the meta row), once `index_merchants` ran."""
        self._frontier = [
            (end - start, self._perfect(start, end))
            for start, end in merkle.perfect_ranges(0, self._size)
        ]

    @classmethod
    def open(cls, path: str | Path, *, synchronous: str = "FULL") -> Ledger:
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.executescript(SCHEMA)
        ledger = cls(conn, path)
        ledger.index_merchants()
        return ledger

    @classmethod
    def open_readonly(cls, path: str | Path) -> Ledger:
        """For auditors and `verify`: never writes, never creates the file."""
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        return cls(conn, str(path))

    def close(self) -> None:
        with self._lock:
            self._write_index()
            self._conn.close()

    # --- reading ---------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return self._size

    def entry(self, index: int) -> bytes:
        return self._row("SELECT entry FROM entries WHERE idx = ?", index)

    def leaf(self, index: int) -> bytes:
        return self._row("SELECT leaf FROM entries WHERE idx = ?", index)

    def index_of(self, event_id: str) -> int | None:
        row = self._conn.execute(
            "SELECT idx FROM entries WHERE event_id = ?", (event_id,)
        ).fetchone()
        return None if row is None else row[0]

    def _indexes_of(self, event_ids: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(event_ids), 500):
            chunk = event_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                self._conn.execute(
                    f"SELECT event_id, idx FROM entries WHERE event_id IN ({marks})", chunk
                )
            )
        return found

    def entries(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        yield from self._conn.execute(
            "SELECT idx, entry FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
        )

    def merchant_entries(
        self, merchant_id: str, before: int | None = None, limit: int = 100
    ) -> list[tuple[int, bytes]]:
        """The entries naming `merchant_id`, newest first, below index `before` (all when
        None): one range of the index's primary key, whatever the depth."""
        with self._lock:
            self._write_index()
            before = self._size if before is None else before
            found: list[int] = []
            blocks = self._conn.execute(
                "SELECT idxs FROM merchant_postings WHERE merchant_id = ? AND first_idx < ?"
                " ORDER BY first_idx DESC",
                (merchant_id, before),
            )
            for (packed,) in blocks:
                found.extend(i for i in reversed(_unpack(packed)) if i < before)
                if len(found) >= limit:
                    break
            found = found[:limit]
            entries = dict(self._entries_at(found))
        return [(index, entries[index]) for index in found]

    def _entries_at(self, indexes: list[int]) -> Iterator[tuple[int, bytes]]:
        for start in range(0, len(indexes), 500):
            chunk = indexes[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT idx, entry FROM entries WHERE idx IN ({marks})", chunk
            )
            yield from ((index, bytes(entry)) for index, entry in rows)

    def merchant_indexed(self) -> int:
        """How many entries, from index 0, the merchant index covers."""
        row = self._conn.execute(
            "SELECT value FROM meta WHERE name = ?", (MERCHANT_INDEXED,)
        ).fetchone()
        return 0 if row is None else row[0]

    def index_merchants(self, chunk: int = BACKFILL_CHUNK) -> int:
        """Indexes the entries the merchant index does not cover yet (a log written before
        it existed), a chunk per transaction; returns how many entries it read. Idempotent."""
        read = 0
        with self._lock:
            self._write_index()
            while (start := self.merchant_indexed()) < self._size:
                end = min(start + chunk, self._size)
                postings: defaultdict[str, list[int]] = defaultdict(list)
                for index, entry in self.entries(start, end):
                    if (merchant := merchant_of(bytes(entry))) is not None:
                        postings[merchant].append(index)
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._insert_postings(postings)
                    self._mark_indexed(end)
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                read += end - start
            self._indexed = self._written = self._size
        return read

    def _write_index(self) -> None:
        """Writes the indexes kept in memory (callers hold the lock)."""
        if self._indexed is None or self._indexed == self._written:
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._insert_postings(self._unwritten)
            self._mark_indexed(self._indexed)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._unwritten = defaultdict(list)
        self._written = self._indexed

    def _insert_postings(self, postings: dict[str, list[int]]) -> None:
        # Each list is ascending and lies past every written one: the meta row moves with
        # the rows, in one transaction. REPLACE: a range re-read after a crash writes the same.
        self._conn.executemany(
            "INSERT OR REPLACE INTO merchant_postings VALUES (?, ?, ?)",
            sorted((merchant, idxs[0], _pack(idxs)) for merchant, idxs in postings.items() if idxs),
        )

    def _mark_indexed(self, size: int) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (MERCHANT_INDEXED, size))

    def _row(self, sql: str, key) -> bytes:
        row = self._conn.execute(sql, (key,)).fetchone()
        if row is None:
            raise IndexError(f"no entry {key} in a ledger of size {self._size}")
        return bytes(row[0])

    def _perfect(self, start: int, end: int) -> bytes:
        level = (end - start).bit_length() - 1
        if level == 0:
            return self.leaf(start)
        if level < STORED_LEVEL:
            rows = self._conn.execute(
                "SELECT leaf FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
            )
            leaves = [bytes(leaf) for (leaf,) in rows]
            if len(leaves) != end - start:
                raise LookupError(f"leaves [{start}, {end}) missing from {self.path}")
            return merkle.root(leaves)
        row = self._conn.execute(
            "SELECT hash FROM nodes WHERE level = ? AND idx = ?", (level, start >> level)
        ).fetchone()
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
        with self._lock:
            frontier = list(self._frontier)
            size = self._size
            indexed = self._indexed == size  # else index_merchants catches up at open
            previous = self.leaf(size - 1) if size else b""
            indexes: list[int] = []
            entry_rows: list[tuple] = []
            node_rows: list[tuple] = []
            merchant_rows: list[tuple[str, int]] = []
            pairs = [item if isinstance(item, tuple) else (None, item) for item in items]
            self._conn.execute("BEGIN IMMEDIATE")
            try:
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
                self._conn.executemany("INSERT INTO entries VALUES (?, ?, ?, ?)", entry_rows)
                self._conn.executemany("INSERT INTO nodes VALUES (?, ?, ?)", node_rows)
                if sign is not None and size > self._size:
                    new_root = merkle.fold_right([digest for _, digest in frontier])

                    # The batch's nodes are already inserted, so this transaction's reads see
                    # the new tree.
                    def prove(old_size: int, new_size: int = size) -> list[bytes]:
                        return merkle.consistency_proof(old_size, new_size, self._subtree)

                    self._conn.execute(
                        "INSERT INTO checkpoints VALUES (?, ?, ?)",
                        (size, new_root, sign(size, new_root, prove)),
                    )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._frontier, self._size = frontier, size
            if indexed:
                self._indexed = size
                for merchant, index in merchant_rows:
                    self._unwritten[merchant].append(index)
                if size - self._written >= INDEX_FLUSH:
                    self._write_index()
            return indexes

    # --- checkpoints -------------------------------------------------------------------------
    def save_checkpoint(self, size: int, note: str) -> None:
        with self._lock:
            self._check_size(size)
            self._conn.execute(
                "INSERT OR IGNORE INTO checkpoints VALUES (?, ?, ?)", (size, self.root(size), note)
            )

    def add_cosignature(self, size: int, witness: str, line: str) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO cosignatures VALUES (?, ?, ?)", (size, witness, line)
        )

    def checkpoint(self, size: int) -> StoredCheckpoint | None:
        row = self._conn.execute(
            "SELECT root, note FROM checkpoints WHERE size = ?", (size,)
        ).fetchone()
        if row is None:
            return None
        cosigned = dict(
            self._conn.execute("SELECT witness, line FROM cosignatures WHERE size = ?", (size,))
        )
        return StoredCheckpoint(size, bytes(row[0]), row[1], cosigned)

    def checkpoint_sizes(self) -> list[int]:
        rows = self._conn.execute("SELECT size FROM checkpoints ORDER BY size")
        return [size for (size,) in rows]

    def checkpoints(self) -> Iterator[StoredCheckpoint]:
        for size in self.checkpoint_sizes():
            checkpoint = self.checkpoint(size)
            if checkpoint is not None:  # always: a checkpoint is never deleted
                yield checkpoint

    def latest_checkpoint(self, witnesses: Sequence[str] = ()) -> StoredCheckpoint | None:
        """The newest checkpoint cosigned by every named witness (any, when none is named)."""
        marks = ",".join("?" * len(witnesses))
        row = self._conn.execute(
            "SELECT MAX(size) FROM checkpoints c WHERE ? = (SELECT COUNT(*) FROM cosignatures s"
            f" WHERE s.size = c.size AND s.witness IN ({marks or 'NULL'}))",
            (len(witnesses), *witnesses),
        ).fetchone()
        return None if row[0] is None else self.checkpoint(row[0])


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


def _pack(indexes: list[int]) -> bytes:
    return struct.pack(f"<{len(indexes)}q", *indexes)


def _unpack(packed: bytes) -> tuple[int, ...]:
    return struct.unpack(f"<{len(packed) // 8}q", packed)
