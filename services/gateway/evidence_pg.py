"""Evidence files in the gateway's PostgreSQL schema, shared by every replica: the same
contract as the directory store (services/gateway/evidence.py), chosen when the gateway's
state is in PostgreSQL (`GATEWAY_STATE_URL=postgresql://...?schema=gateway`; tables from
platformrun/migrations/gateway/0002_evidence.sql). `make run` keeps the directory.

A file is one row, written once: `INSERT ... ON CONFLICT DO NOTHING` after its SHA-256 was
checked, so two replicas storing the same bytes at once race harmlessly, and a reader sees
the whole file or none. The bytes are held in memory while checked: the gateway caps a body
at `GATEWAY_MAX_EVIDENCE_BODY` (5 MB) before it reaches here. Like the files, the rows are
the gateway's alone: its role is the only one granted the schema.

A gateway moving from the directory to PostgreSQL brings its files along once, before its
replicas serve evidence (idempotent: a second run copies nothing):

    GATEWAY_STATE_URL=postgresql://...?schema=gateway python -m services.gateway.evidence_pg \
        --import-dir /data/evidence

A file whose bytes no longer hash to its name (corrupted on disk) is skipped and named, the
others are copied, and the command then exits 1.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
import time
from dataclasses import dataclass, field
from typing import IO

from services.gateway.evidence import (
    SHA256_HEX,
    EvidenceEmpty,
    EvidenceMismatch,
    EvidenceStore,
)
from services.gateway.state.db import NotMigrated, PostgresDb, StateDb, is_postgres

CHUNK = 64 * 1024


class PostgresEvidenceStore:
    def __init__(self, db: StateDb):
        self.db = db
        self._require_tables()

    def _require_tables(self) -> None:
        """Fails at start, not at every evidence request, on a schema migrated before the
        evidence tables (0002_evidence.sql) existed."""
        with self.db.cursor() as cursor:
            cursor.execute("SELECT to_regclass('evidence_files') IS NOT NULL")
            if not cursor.fetchone()[0]:
                raise NotMigrated(
                    "the gateway's PostgreSQL schema has no evidence_files table (migrated by"
                    " older code): run `python -m platformrun.migrate` first"
                )

    @staticmethod
    def _name(sha256: str) -> str:
        if not SHA256_HEX.fullmatch(sha256):
            raise ValueError("an evidence file is named by its SHA-256: 64 lowercase hex digits")
        return sha256

    def exists(self, sha256: str) -> bool:
        with self.db.cursor() as cursor:
            cursor.execute("SELECT 1 FROM evidence_files WHERE sha256 = ?", (self._name(sha256),))
            return cursor.fetchone() is not None

    def uploaders(self, sha256: str) -> set[str]:
        with self.db.cursor() as cursor:
            cursor.execute(
                "SELECT uploader FROM evidence_uploaders WHERE sha256 = ?", (self._name(sha256),)
            )
            return {row[0] for row in cursor.fetchall()}

    def put(self, sha256: str, body: IO[bytes], uploader: str) -> bool:
        """As EvidenceStore.put: True when the bytes were new, False when already stored; the
        uploader recorded either way; EvidenceMismatch or EvidenceEmpty store nothing."""
        if "\n" in uploader:
            raise ValueError("an uploader is one line")
        created = self.add(sha256, body)
        self.record_uploaders(sha256, [uploader])
        return created

    def add(self, sha256: str, body: IO[bytes]) -> bool:
        """Stores the bytes, checked against their name, recording no uploader: True when
        they were new. EvidenceMismatch or EvidenceEmpty store nothing."""
        sha256 = self._name(sha256)
        data, digest = bytearray(), hashlib.sha256()
        while chunk := body.read(CHUNK):
            digest.update(chunk)
            data += chunk
        if not data:
            raise EvidenceEmpty("an evidence file has at least one byte")
        if digest.hexdigest() != sha256:
            raise EvidenceMismatch(digest.hexdigest())
        if self.exists(sha256):  # spares sending the bytes again
            return False
        with self.db.cursor() as cursor:
            # The bytearray as it is: psycopg sends it as bytea, without a copy of 5 MB.
            cursor.execute(
                "INSERT INTO evidence_files (sha256, body, created) VALUES (?, ?, ?)"
                " ON CONFLICT (sha256) DO NOTHING",
                (sha256, data, time.time()),
            )
            return cursor.rowcount == 1

    def record_uploaders(self, sha256: str, uploaders: list[str]) -> None:
        with self.db.cursor() as cursor:
            for uploader in uploaders:
                cursor.execute(
                    "INSERT INTO evidence_uploaders (sha256, uploader) VALUES (?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (self._name(sha256), uploader),
                )

    def open(self, sha256: str) -> IO[bytes]:
        """The file for reading; FileNotFoundError when there is none."""
        with self.db.cursor() as cursor:
            cursor.execute(
                "SELECT body FROM evidence_files WHERE sha256 = ?", (self._name(sha256),)
            )
            row = cursor.fetchone()
        if row is None:
            raise FileNotFoundError(sha256)
        return io.BytesIO(bytes(row[0]))


def open_evidence_store(
    state_url: str, directory: str, shared: tuple[StateDb, ...] = ()
) -> EvidenceStore | PostgresEvidenceStore:
    """PostgreSQL when the gateway's state is there (on its connection pool, `shared`, when
    given), else the directory. NotMigrated when the schema lacks the evidence tables."""
    if not is_postgres(state_url):
        return EvidenceStore(directory)
    db = next((d for d in shared if d.dialect == "postgresql"), None)
    return PostgresEvidenceStore(db or PostgresDb(state_url).require_migrated())


@dataclass
class Imported:
    copied: int = 0
    present: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    """Corrupted files left behind: name -> the SHA-256 their bytes have instead."""


def import_directory(source: EvidenceStore, target: PostgresEvidenceStore) -> Imported:
    """Copies every file of `source`, with each of its uploaders, into `target`. A file nobody
    uploaded could be read by regulators only; it is copied with no uploader, as it was. A
    file whose bytes are not its SHA-256 any more is skipped (with its uploaders), and the
    rest still copied."""
    result = Imported()
    for sha256 in source.names():
        try:
            with source.open(sha256) as body:
                created = target.add(sha256, body)
        except (EvidenceMismatch, EvidenceEmpty) as corrupted:
            result.skipped[sha256] = getattr(corrupted, "actual", "no bytes")
            continue
        target.record_uploaders(sha256, sorted(source.uploaders(sha256)))
        if created:
            result.copied += 1
        else:
            result.present += 1
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.gateway.evidence_pg",
        description="copy the evidence files of a directory into GATEWAY_STATE_URL's schema",
    )
    parser.add_argument("--import-dir", required=True, help="the former GATEWAY_EVIDENCE_DIR")
    parser.add_argument("--url", default=os.environ.get("GATEWAY_STATE_URL", ""))
    args = parser.parse_args(argv)
    if not is_postgres(args.url):
        parser.error("GATEWAY_STATE_URL (or --url) must be a postgresql:// URL")
    db = PostgresDb(args.url)
    try:
        result = import_directory(
            EvidenceStore(args.import_dir), PostgresEvidenceStore(db.require_migrated())
        )
    except NotMigrated as exc:
        print(f"evidence import: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
    for name, actual in result.skipped.items():
        print(f"skipped {name}: corrupted, its bytes' SHA-256 is {actual}", file=sys.stderr)
    print(
        f"{result.copied} evidence file(s) copied, {result.present} already there,"
        f" {len(result.skipped)} skipped as corrupted"
    )
    return 1 if result.skipped else 0


if __name__ == "__main__":
    sys.exit(main())
