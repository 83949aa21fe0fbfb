"""A person-key vault in a PostgreSQL schema, shared by every replica of a service.

Each subject's data key is stored wrapped by the key-encryption key (privacy/kek.py), which is
never in the database; `forget` deletes the subject's row and records the subject as
forgotten, so every replica then refuses its ciphertexts (nothing is cached: a replica asks
the database each time, so an erasure on one is seen by all at once). The tables come from
the versioned migrations (platformrun/migrations/<service>/NNNN_vault.sql, run by `python -m
platformrun.migrate`): the vault never issues CREATE.

The URL is any libpq URI plus our `schema` parameter: `postgresql://...?schema=merchant`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pgpool import PostgresPool, is_postgres, split_url
from privacy import Forgotten, Vault
from privacy.kek import KeyEncryptionKeys

__all__ = ["PostgresVault", "VaultNotMigrated", "is_postgres", "split_url"]

LOCK_KEY = 0x7661756C  # "vaul"; mixed with the subject, so creation and erasure serialise


class VaultNotMigrated(RuntimeError):
    """The schema has no vault tables: run `python -m platformrun.migrate` first."""


class PostgresVault(Vault):
    """The `Vault` interface (encrypt, decrypt, forget, close) on a migrated schema."""

    def __init__(self, url: str, keks: KeyEncryptionKeys, *, connect_timeout: int = 10):
        self.keks = keks
        self._pool = PostgresPool.from_url(url, connect_timeout=connect_timeout)
        self.schema = self._pool.schema
        if not self._pool.has_tables("vault_keys", "vault_forgotten"):
            self._pool.close()
            raise VaultNotMigrated(
                f"PostgreSQL schema {self.schema or 'public'!r} has no vault tables:"
                " run `python -m platformrun.migrate` first"
            )

    @contextmanager
    def _locked(self, subject: str) -> Iterator[Any]:
        """A transaction holding the subject's lock: creating a key and forgetting the subject
        never interleave, so no replica makes a key for a subject just forgotten."""
        with self._pool.transaction() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK_KEY, subject))
            yield cursor

    def _key(self, subject: str, create: bool) -> bytes:
        with self._pool.cursor() as cursor:
            cursor.execute("SELECT kek_id, wrapped FROM vault_keys WHERE subject = %s", (subject,))
            row = cursor.fetchone()
        if row:
            return self.keks.unwrap(subject, row[0], row[1])
        if not create:
            raise Forgotten(subject)
        with self._locked(subject) as cursor:
            cursor.execute("SELECT 1 FROM vault_forgotten WHERE subject = %s", (subject,))
            if cursor.fetchone():
                raise Forgotten(subject)
            cursor.execute("SELECT kek_id, wrapped FROM vault_keys WHERE subject = %s", (subject,))
            row = cursor.fetchone()
            if row:  # another replica made it first
                return self.keks.unwrap(subject, row[0], row[1])
            key = AESGCM.generate_key(bit_length=256)
            kek, wrapped = self.keks.wrap(subject, key)
            cursor.execute(
                "INSERT INTO vault_keys (subject, kek_id, wrapped) VALUES (%s, %s, %s)",
                (subject, kek, wrapped),
            )
            return key

    def forget(self, subject: str) -> None:
        with self._locked(subject) as cursor:
            cursor.execute("DELETE FROM vault_keys WHERE subject = %s", (subject,))
            cursor.execute(
                "INSERT INTO vault_forgotten (subject) VALUES (%s) ON CONFLICT DO NOTHING",
                (subject,),
            )

    def rewrap(self, *, batch: int = 500) -> int:
        """Wraps again, under the first KEK, every key wrapped by another; returns how many.
        Each batch is one transaction; a key forgotten meanwhile is simply not there."""
        done = 0
        current = self.keks.current_id
        while True:
            with self._pool.transaction() as cursor:
                cursor.execute(
                    "SELECT subject, kek_id, wrapped FROM vault_keys WHERE kek_id <> %s"
                    " ORDER BY subject LIMIT %s FOR UPDATE",
                    (current, batch),
                )
                rows = cursor.fetchall()
                for subject, old, wrapped in rows:
                    kek, again = self.keks.wrap(subject, self.keks.unwrap(subject, old, wrapped))
                    cursor.execute(
                        "UPDATE vault_keys SET kek_id = %s, wrapped = %s WHERE subject = %s",
                        (kek, again, subject),
                    )
            done += len(rows)
            if len(rows) < batch:
                return done

    def close(self) -> None:
        self._pool.close()
