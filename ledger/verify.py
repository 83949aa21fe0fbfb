"""Verifies a ledger (a file, or a PostgreSQL schema) from its entry bytes up, trusting
nothing stored but the keys.

It streams the entries in index order and
* rehashes each entry's bytes and compares the stored leaf hash;
* checks the entry names its own index and chains to the previous entry's recomputed leaf;
* rebuilds the tree from the recomputed leaves and, at every checkpoint, compares the root
  with the stored one and with the one inside the signed note, checks the log's signature and
  every witness cosignature, and checks a consistency proof between consecutive checkpoints;
* notices a missing index and a log shorter than its last checkpoint.

The report names the first bad index: the smallest index any finding points at (a broken
chain at k blames entry k-1, which is not the entry k was written after). A rewrite of
the tail that recomputes every hash and keeps the chain whole is only visible against the
signed checkpoints, so it is reported at the size of the last checkpoint that still verifies:
the first index no valid signature vouches for.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ledger import merkle
from ledger.log import Ledger
from ledger.note import ED25519, Checkpoint, NoteError, Verifier, split_note
from ledger.storage import LedgerDb, open_ledger_db

PAGE = 20_000


@dataclass
class VerifyReport:
    size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    first_bad_index: int | None = None
    reason: str = ""
    checkpoints_checked: int = 0
    cosignatures_checked: int = 0
    elapsed: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.first_bad_index is None

    def flag(self, index: int, reason: str) -> None:
        self.problems.append(f"index {index}: {reason}")
        if self.first_bad_index is None or index < self.first_bad_index:
            self.first_bad_index, self.reason = index, reason


class _Checkpoints:
    """The stored checkpoints, checked one by one as the rebuilt tree reaches their sizes."""

    def __init__(
        self, db: LedgerDb, location: str | Path, verifiers: list[Verifier], report: VerifyReport
    ):
        self.rows = db.rows("SELECT size, root, note FROM checkpoints ORDER BY size")
        self.cosigned: dict[int, dict[str, str]] = {}
        for size, witness, line in db.rows("SELECT size, witness, line FROM cosignatures"):
            self.cosigned.setdefault(size, {})[witness] = line
        self.errors: tuple[type[Exception], ...] = (LookupError, IndexError, ValueError, *db.errors)
        self.location = location
        self.ledger: Ledger | None = None
        self.report = report
        self.next = 0
        self.last_ok: tuple[int, bytes] = (0, merkle.EMPTY_ROOT)
        origins = {self._origin(note) for _, _, note in self.rows} - {None}
        logs = [v for v in verifiers if v.sig_type == ED25519]
        log_key = next((v for v in logs if v.name in origins), None)
        if log_key is None and logs and not self.rows:
            log_key = logs[0]
        if log_key is None:
            raise LookupError("no trusted log key (type 0x01) matches the checkpoints' origin")
        self.log_key: Verifier = log_key
        self.witness_keys = {v.name: v for v in verifiers if v.sig_type != ED25519}

    @staticmethod
    def _origin(note: str) -> str | None:
        return note.split("\n", 1)[0] or None

    @property
    def next_size(self) -> int | None:
        return self.rows[self.next][0] if self.next < len(self.rows) else None

    def check(self, size: int, root: bytes) -> None:
        stored_size, stored_root, note = self.rows[self.next]
        self.next += 1
        self.report.checkpoints_checked += 1
        problem = self._problem(size, root, bytes(stored_root), note)
        if problem:
            first = self.report.first_bad_index
            explained = (
                problem.startswith("root") and first is not None and self.last_ok[0] <= first < size
            )
            if not explained:  # an entry-level finding in this range is more precise
                self.report.flag(self.last_ok[0], f"checkpoint {size}: {problem}")
            return
        old_size, old_root = self.last_ok
        if old_size and not self._consistent(old_size, old_root, size, root):
            self.report.flag(
                old_size,
                f"stored tree gives no valid consistency proof from "
                f"checkpoint {old_size} to {size}",
            )
            return
        self.last_ok = (size, root)

    def _problem(self, size: int, root: bytes, stored_root: bytes, note: str) -> str | None:
        try:
            body, lines = split_note(note)
            signed = Checkpoint.parse(body)
        except (NoteError, ValueError) as exc:
            return f"unreadable note ({exc})"
        if signed.size != size or signed.root != stored_root:
            return "the signed note and the stored checkpoint disagree"
        if stored_root != root:
            return (
                f"root {stored_root.hex()[:16]}... does not match the entries "
                f"({root.hex()[:16]}...): history was rewritten"
            )
        if not any(self.log_key.verify_line(body, line) for line in lines):
            return "the log's signature does not verify"
        for witness, line in self.cosigned.get(size, {}).items():
            key = self.witness_keys.get(witness)
            if key is None:
                continue
            self.report.cosignatures_checked += 1
            if not key.verify_line(body, line):
                return f"the cosignature of {witness} does not verify"
        return None

    def _consistent(self, old_size: int, old_root: bytes, size: int, root: bytes) -> bool:
        try:
            if self.ledger is None:
                self.ledger = Ledger.open_readonly(self.location)
            proof = self.ledger.consistency_proof(old_size, size)
        except self.errors:
            return False
        return merkle.verify_consistency(old_size, size, proof, old_root, root)


def verify_ledger(
    location: str | Path,
    verifiers: list[Verifier],
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """`location`: a ledger file's path, or a `postgresql://…?schema=` URL (read only)."""
    started = time.perf_counter()
    report = VerifyReport()
    db = open_ledger_db(location, read_only=True)
    try:
        checkpoints = _Checkpoints(db, location, verifiers, report)
        counted = db.one("SELECT COUNT(*) FROM entries")
        count = int(counted[0]) if counted else 0
        try:
            _walk(db, report, checkpoints, progress)
        finally:
            if checkpoints.ledger is not None:
                checkpoints.ledger.close()
        last_signed = checkpoints.rows[-1][0] if checkpoints.rows else 0
        if last_signed > count:
            report.flag(
                count, f"truncated: {count} entries, but a checkpoint was signed at {last_signed}"
            )
    finally:
        db.close()
    report.elapsed = time.perf_counter() - started
    return report


def _walk(db: LedgerDb, report: VerifyReport, checkpoints: _Checkpoints, progress) -> None:
    sha256 = hashlib.sha256
    node = merkle.node_hash
    frontier: list[tuple[int, bytes]] = []
    expected, previous = 0, ""
    after = -1
    while rows := db.rows(
        "SELECT idx, entry, leaf FROM entries WHERE idx > ? ORDER BY idx LIMIT ?", (after, PAGE)
    ):
        after = rows[-1][0]
        for index, entry, stored_leaf in rows:
            if index != expected:
                report.flag(expected, "entry missing: the indexes jump to " + str(index))
                return
            leaf = sha256(b"\x00" + entry).digest()
            if leaf != stored_leaf:
                report.flag(index, "the entry's bytes do not match its stored leaf hash")
            try:
                parsed = json.loads(entry)
                named_index, chained_to = parsed["index"], parsed["prev"]
            except (ValueError, TypeError, KeyError):
                report.flag(index, "not a ledger entry")
            else:
                # Which entry to blame: one naming a larger index means entries went missing
                # here; a smaller one, or a broken chain, means the one before is not the
                # entry this one was written after.
                if named_index != index:
                    blamed = (
                        index
                        if not isinstance(named_index, int) or named_index > index
                        else max(index - 1, 0)
                    )
                    report.flag(blamed, f"entry {index} names index {named_index}")
                elif chained_to != previous:
                    report.flag(
                        max(index - 1, 0), f"entry {index} does not chain to entry {index - 1}"
                    )
            previous = leaf.hex()
            size, digest = 1, leaf
            while frontier and frontier[-1][0] == size:
                size, digest = size * 2, node(frontier.pop()[1], digest)
            frontier.append((size, digest))
            expected = index + 1
            if expected == checkpoints.next_size:
                checkpoints.check(expected, merkle.fold_right([h for _, h in frontier]))
                # Nothing later can point below a finding once a checkpoint covers it.
                if report.first_bad_index is not None and report.first_bad_index < expected:
                    report.size = expected
                    return
        if progress:
            progress(len(rows))
    report.size = expected
    report.root = merkle.fold_right([h for _, h in frontier])
