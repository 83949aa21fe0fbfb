"""Personal data, encrypted per person so that deleting that person's key erases it.

A `Vault` keeps one AES-256-GCM key per subject (a merchant, a consumer) apart from the event
store, in its own SQLite file (the default, one process) or, for any number of replicas, in
a PostgreSQL schema, wrapped by a key-encryption key that is never stored there
(privacy/postgres.py, privacy/kek.py; `open_vault` picks by configuration): events, the
ledger and logs only ever see ciphertext, and `forget(subject)` deletes the key
(crypto-shredding), after which every copy of that ciphertext, in every event and backup, is
unreadable (a backup of a PostgreSQL vault keeps the key wrapped until the key-encryption key
that wrapped it is rotated out and destroyed: `python -m privacy.rewrap`).

Ciphertexts are `pd1.<base64url(nonce || ciphertext+tag)>`, bound to subject and purpose by
the associated data, so one person's ciphertext cannot be passed off as another's.
"""

from __future__ import annotations

import base64
import os
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "pd1."


class Forgotten(Exception):
    """The subject's key was deleted: the data is gone for good."""


class Vault:
    """The file vault, and the interface of every vault: `encrypt`, `decrypt`, `forget` and
    `close` over `_key` (privacy/postgres.py overrides `_key`, `forget` and `close`)."""

    def __init__(self, path: str | Path):
        # The keys are readable by this service's user only; SQLite gives its WAL and shared
        # memory files the same permissions as the database file.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("PRAGMA busy_timeout = 10000")
        # secure_delete overwrites a deleted key's bytes in the file instead of leaving them.
        self._conn.execute("PRAGMA secure_delete = ON")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS subject_keys (subject TEXT PRIMARY KEY, key BLOB NOT NULL)"
        )
        self._conn.execute("CREATE TABLE IF NOT EXISTS forgotten (subject TEXT PRIMARY KEY)")
        self._lock = threading.Lock()

    def _key(self, subject: str, create: bool) -> bytes:
        with self._lock:
            row = self._conn.execute(
                "SELECT key FROM subject_keys WHERE subject = ?", (subject,)
            ).fetchone()
            if row:
                return bytes(row[0])
            if not create:
                raise Forgotten(subject)
            # One write transaction, so that a `forget` by another connection to the file
            # cannot fall between the check and the insert and leave a forgotten subject a key.
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                if self._conn.execute(
                    "SELECT 1 FROM forgotten WHERE subject = ?", (subject,)
                ).fetchone():
                    raise Forgotten(subject)
                row = self._conn.execute(
                    "SELECT key FROM subject_keys WHERE subject = ?", (subject,)
                ).fetchone()
                key = bytes(row[0]) if row else AESGCM.generate_key(bit_length=256)
                if not row:
                    self._conn.execute("INSERT INTO subject_keys VALUES (?, ?)", (subject, key))
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return key

    def encrypt(self, subject: str, purpose: str, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self._key(subject, create=True)).encrypt(
            nonce, plaintext.encode(), f"{subject}|{purpose}".encode()
        )
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, subject: str, purpose: str, token: str) -> str:
        if not token.startswith(PREFIX):
            raise ValueError("not a personal-data ciphertext")
        raw = base64.urlsafe_b64decode(token[len(PREFIX) :])
        return (
            AESGCM(self._key(subject, create=False))
            .decrypt(raw[:12], raw[12:], f"{subject}|{purpose}".encode())
            .decode()
        )

    def forget(self, subject: str) -> None:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("DELETE FROM subject_keys WHERE subject = ?", (subject,))
            self._conn.execute("INSERT OR IGNORE INTO forgotten VALUES (?)", (subject,))
            self._conn.execute("COMMIT")
            # secure_delete zeroes the key in the database pages, but the write-ahead log
            # still holds the page images written when the key was created: copy the log
            # back and truncate it, so no file keeps the key's bytes.
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self._conn.close()


def open_vault(config: Mapping[str, object]) -> Vault:
    """The vault a service's config names: `VAULT_URL=postgresql://...?schema=<service>` (with
    its key-encryption key from `VAULT_KEK_FILE` or `VAULT_KEK`), else the file `VAULT_PATH`."""
    url = str(config.get("VAULT_URL") or "")
    if url:
        # Imported by the caller's module first (services/dependencies.py): under eventlet
        # two greenthreads importing psycopg at once would see it half-initialised.
        from privacy.kek import load_keks
        from privacy.postgres import PostgresVault, is_postgres

        if not is_postgres(url):
            raise ValueError(f"VAULT_URL must be postgresql://...?schema=<service>: {url!r}")
        return PostgresVault(url, load_keks(config))
    return Vault(str(config["VAULT_PATH"]))


# A masked phone shows at most its last MAX_SHOWN_DIGITS digits (the "尾号" people recognise),
# fewer than half of its digits, and hides at least MIN_HIDDEN_DIGITS, whatever its length.
MAX_SHOWN_DIGITS = 4
MIN_HIDDEN_DIGITS = 4


def mask_phone(phone: str) -> str:
    """*******5678: what every role but the owner sees. Only digits are masked, so the mask
    keeps the number's length and its separators ("+", "-", spaces)."""
    text = phone
    digits = sum(char.isdigit() for char in text)
    shown = max(0, min(MAX_SHOWN_DIGITS, (digits - 1) // 2, digits - MIN_HIDDEN_DIGITS))
    masked, seen = [], 0
    for char in text:
        if char.isdigit():
            seen += 1
            char = char if seen > digits - shown else "*"
        masked.append(char)
    return "".join(masked)
