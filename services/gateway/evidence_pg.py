"""Evidence files in the gateway's PostgreSQL schema, shared by every replica: the same
contract as the directory store (services/gateway/evidence.py), chosen when the gateway's
state is in PostgreSQL (`GATEWAY_STATE_URL=postgresql://...?schema=gateway`; tables from
platformrun/migrations/gateway/0002_evidence.sql). `make run` keeps the directory.

A file is one row, written once: `INSERT ... ON CONFLICT DO NOTHING` after its SHA-256 was
checked, so two replicas storing the same bytes at once race harmlessly, and a reader sees
the whole file or none. The bytes are held in memory while checked: the gateway caps a body
at `GATEWAY_MAX_EVIDENCE_BODY` (5 MB) before it reaches here. Like the files, the rows are
the gateway's alone: its role is the only one granted the schema.
"""

from __future__ import annotations

import hashlib
import io
import time
from typing import IO

from services.gateway.evidence import (
    SHA256_HEX,
    EvidenceEmpty,
    EvidenceMismatch,
    EvidenceStore,
)
from services.gateway.state.db import PostgresDb, StateDb, is_postgres

CHUNK = 64 * 1024


class PostgresEvidenceStore:
    def __init__(self, db: StateDb):
        self.db = db

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
        sha256 = self._name(sha256)
        if "\n" in uploader:
            raise ValueError("an uploader is one line")
        data, digest = bytearray(), hashlib.sha256()
        while chunk := body.read(CHUNK):
            digest.update(chunk)
            data += chunk
        if not data:
            raise EvidenceEmpty("an evidence file has at least one byte")
        if digest.hexdigest() != sha256:
            raise EvidenceMismatch(digest.hexdigest())
        created = False
        stored = self.exists(sha256)  # spares sending the bytes again
        with self.db.cursor() as cursor:
            if not stored:
                cursor.execute(
                    "INSERT INTO evidence_files (sha256, body, created) VALUES (?, ?, ?)"
                    " ON CONFLICT (sha256) DO NOTHING",
                    (sha256, bytes(data), time.time()),
                )
                created = cursor.rowcount == 1
            cursor.execute(
                "INSERT INTO evidence_uploaders (sha256, uploader) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                (sha256, uploader),
            )
        return created

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
    given), else the directory."""
    if not is_postgres(state_url):
        return EvidenceStore(directory)
    db = next((d for d in shared if d.dialect == "postgresql"), None)
    return PostgresEvidenceStore(db or PostgresDb(state_url).require_migrated())
