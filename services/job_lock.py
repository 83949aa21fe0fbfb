"""Job locks: one holder at a time for a named job, across processes and replicas.

The port is `JobLock`: `acquire(job)` without waiting (True when this process now holds it),
`renew(job)` (False when it was lost), `release(job)`. Two adapters:

* `FileJobLocks` (the single-machine default, for `sqlite://` stores): `flock` on one file per
  job in a directory beside the store. The kernel drops the lock when its holder dies, so a
  killed holder hands over at once; it needs every replica on the same machine or volume.
* `PgLeaseLocks` (`postgresql://` stores): a lease row per job, `(job, holder, expires_at,
  token)` in the table `job_leases`, taken when free or expired and renewed by its holder.
  A lease row rather than a session-level `pg_try_advisory_lock`: an advisory lock belongs to
  one server session, so it is lost (or worse, inherited by another client) behind a
  transaction-pooling proxy such as PgBouncer and silently dropped on a reconnect, while a
  row is state any connection can read, renew and show (who holds what, until when). Times
  are the server's (`now()`), so replicas' clocks do not matter. The cost: a killed holder
  hands over only when its lease expires (`ttl`, 60 s by default; renewed every ttl/3 while a
  job runs). `token` grows with each new holder (a fencing number, logged).

A lock lost mid-run (a holder stalled past its lease) cannot double money: the jobs are
idempotent by themselves (payouts clear their owed rows under the store's write lock and
pay only what is still owed; a day's reconciliation report goes to a stream expected new;
every other step re-reads its card and decides from its state). The lock only keeps replicas
from doing the same work twice over.
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
import uuid
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

_THIS_PROCESS = uuid.uuid4().hex[:12]


def holder_id() -> str:
    """This process, as a lease's holder: host, pid and a random part, since containers with
    one fixed host name all run as pid 1 and would otherwise hold each other's leases."""
    return f"{socket.gethostname()}:{os.getpid()}:{_THIS_PROCESS}"


class JobLock(Protocol):
    def acquire(self, job: str) -> bool: ...

    def renew(self, job: str) -> bool:
        """True: still held; False: another holds it now. Raises when it cannot ask."""
        ...

    def release(self, job: str, hold_for: float = 0.0) -> None:
        """Lets the job go, to others only after `hold_for` seconds (where that is kept)."""
        ...

    def close(self) -> None: ...


class FileJobLocks:
    """`flock` on `<directory>/<job>.lock`; held until released or the process dies."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._held: dict[str, IO[bytes]] = {}

    def acquire(self, job: str) -> bool:
        if job in self._held:
            return True
        handle = open(self.directory / f"{job}.lock", "a+b")  # noqa: SIM115 - kept while held
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(holder_id().encode())
        handle.flush()
        self._held[job] = handle
        return True

    def renew(self, job: str) -> bool:
        return job in self._held

    def release(self, job: str, hold_for: float = 0.0) -> None:
        # A file lock cannot outlive its holder's hold: `hold_for` is not kept (one machine).
        handle = self._held.pop(job, None)
        if handle is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()

    def close(self) -> None:
        for job in list(self._held):
            self.release(job)


LEASES = (Path(__file__).parent / "job_leases.sql").read_text()

TAKE = """
INSERT INTO job_leases AS l (job, holder, expires_at, token)
VALUES (%(job)s, %(holder)s, now() + %(ttl)s * interval '1 second', 1)
ON CONFLICT (job) DO UPDATE
SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at,
    token = l.token + CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > now() THEN 0
                           ELSE 1 END
WHERE l.expires_at <= now() OR l.holder = EXCLUDED.holder
RETURNING token"""

RENEW = """
UPDATE job_leases SET expires_at = now() + %(ttl)s * interval '1 second'
WHERE job = %(job)s AND holder = %(holder)s AND expires_at > now()
RETURNING token"""

RELEASE = """
UPDATE job_leases SET expires_at = now() + %(hold)s * interval '1 second'
WHERE job = %(job)s AND holder = %(holder)s"""


class PgLeaseLocks:
    """Lease rows in `job_leases` (in `schema`; see `_make_table_if_missing`), one connection
    of its own (autocommit), reopened after an error."""

    def __init__(
        self, dsn: str, *, schema: str | None = None, ttl: float = 60.0, holder: str | None = None
    ):
        self.dsn, self.schema, self.ttl = dsn, schema, ttl
        self.holder = holder or holder_id()
        self.tokens: dict[str, int] = {}
        self._mutex = threading.Lock()
        self._conn: psycopg.Connection | None = None
        self._make_table_if_missing()

    def _connect(self) -> psycopg.Connection:
        extra: dict[str, Any] = {"options": f"-c search_path={self.schema}"} if self.schema else {}
        return psycopg.connect(self.dsn, autocommit=True, connect_timeout=10, **extra)

    def _make_table_if_missing(self) -> None:
        """A migrated schema has the table (its role may not CREATE); only a schema never
        migrated, in tests and development, gets it here."""
        if self._run("SELECT to_regclass('job_leases') IS NOT NULL", {})[0][0]:
            return
        # Replicas starting at once would race in the catalogue on CREATE … IF NOT EXISTS (a
        # unique violation on pg_type, and the loser failed to start): one transaction under
        # an advisory lock makes the schema and table while the others wait for it.
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=10) as conn:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('platform: job_leases DDL'))")
                if self.schema:
                    conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                    conn.execute(f'SET LOCAL search_path = "{self.schema}"')
                conn.execute(LEASES)

    def _run(self, sql: str, params: dict) -> list:
        with self._mutex:
            try:
                conn = self._conn
                if conn is None or conn.closed:
                    conn = self._conn = self._connect()
                rows = conn.execute(sql, params)
                return rows.fetchall() if rows.description else []
            except BaseException:  # a greenthread killed mid-query leaves it out of step too
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                raise

    def _params(self, job: str) -> dict:
        return {"job": job, "holder": self.holder, "ttl": self.ttl}

    def acquire(self, job: str) -> bool:
        rows = self._run(TAKE, self._params(job))
        if rows:
            self.tokens[job] = rows[0][0]
        return bool(rows)

    def renew(self, job: str) -> bool:
        return bool(self._run(RENEW, self._params(job)))

    def release(self, job: str, hold_for: float = 0.0) -> None:
        self.tokens.pop(job, None)
        self._run(RELEASE, {**self._params(job), "hold": max(0.0, hold_for)})

    def close(self) -> None:
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
            self._conn = None


def open_job_locks(url: str, *, ttl: float = 60.0) -> JobLock:
    """The adapter for a store URL (or a lock URL): `postgresql://…?schema=` gives lease rows
    in that schema; `sqlite:///path/x.db` gives file locks in `path/x.db.jobs/`; `file:///dir`
    gives file locks in `dir`."""
    scheme = url.split(":", 1)[0]
    if scheme in ("postgresql", "postgres"):
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        schema = query.pop("schema", None)
        query.pop("create", None)  # a store URL's own word (eventstore/factory.py), not libpq's
        dsn = urlunsplit(parts._replace(query=urlencode(query)))
        return PgLeaseLocks(dsn, schema=schema, ttl=ttl)
    if scheme == "sqlite":
        path = url[len("sqlite:") :]
        path = "/" + path.lstrip("/") if path.startswith("///") else path.removeprefix("//")
        return FileJobLocks(f"{path}.jobs")
    if scheme == "file":
        return FileJobLocks(urlsplit(url).path)
    raise ValueError(f"no job locks for a {scheme}:// URL; use sqlite://, file:// or postgresql://")
