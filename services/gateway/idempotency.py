"""Idempotency-Key on POST: the same key and body replay the first response; the same key
with another body is 422 `idempotency_key_reused`; a request still running under the key is
409 `idempotency_in_progress`. Keys are scoped to the caller, and kept in the gateway's own
SQLite file, shared by its threads.

A response is stored only if it is not a 5xx: after a failure on our side the client may
retry with the same key and get a real answer. Logins are not wrapped: their responses are
live tokens, which are never kept at rest, and a repeated login is harmless.

Records are kept `ttl` seconds (24 h by default), then a retry with the key runs afresh;
each write deletes a bounded batch of expired records. A request marked in progress for more
than `stale_after` seconds is taken to have died with its process (a crash between the mark
and the response): a retry takes the key over instead of being refused forever. The file is
created 0600, since stored responses can carry personal data.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, cast

from flask import Response, current_app, request

from services.gateway.auth import View, current_principal
from services.gateway.errors import ApiError
from services.gateway.private_file import ensure_private_file

IN_PROGRESS = -1
# Expired records are deleted this many at a time, on each write, so no request pays for a
# backlog and the file shrinks back to a day's worth.
CLEANUP_BATCH = 100


class IdempotencyStore:
    def __init__(self, path: str | Path, *, ttl: float = 24 * 3600, stale_after: float = 300):
        self.ttl, self.stale_after = ttl, stale_after
        ensure_private_file(path)
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA busy_timeout = 10000")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS responses (scope TEXT, key TEXT, fingerprint TEXT,"
            " status INTEGER, body BLOB, created REAL, PRIMARY KEY (scope, key))"
        )
        self._conn.execute("CREATE INDEX IF NOT EXISTS responses_created ON responses (created)")
        # Only dev-login ever stored anonymous responses, and they were tokens.
        self._conn.execute("DELETE FROM responses WHERE scope = 'anonymous'")
        self._lock = threading.Lock()

    def begin(self, scope: str, key: str, fingerprint: str) -> tuple[int, bytes] | None:
        """None when this request may run; else the stored (status, body) to replay.

        The in-progress marker is committed without waiting for the disk (synchronous =
        NORMAL): a crash of this process keeps it, and the response's commit in `finish`
        waits for the disk and makes the marker durable with it."""
        now = time.time()
        with self._lock:
            try:
                self._conn.execute("PRAGMA synchronous = NORMAL")
                self._conn.execute(
                    "DELETE FROM responses WHERE rowid IN (SELECT rowid FROM"
                    " responses WHERE created <= ? LIMIT ?)",
                    (now - self.ttl, CLEANUP_BATCH),
                )
                # The same request again, after its first run died without an answer.
                self._conn.execute(
                    "DELETE FROM responses WHERE scope = ? AND key = ? AND fingerprint = ?"
                    " AND status = ? AND created <= ?",
                    (scope, key, fingerprint, IN_PROGRESS, now - self.stale_after),
                )
                self._conn.execute(
                    "INSERT INTO responses VALUES (?, ?, ?, ?, NULL, ?)",
                    (scope, key, fingerprint, IN_PROGRESS, now),
                )
                return None
            except sqlite3.IntegrityError:
                row = self._conn.execute(
                    "SELECT fingerprint, status, body FROM responses WHERE scope = ? AND key = ?",
                    (scope, key),
                ).fetchone()
            finally:
                self._conn.execute("PRAGMA synchronous = FULL")
        if row[0] != fingerprint:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request",
            )
        if row[1] == IN_PROGRESS:
            raise ApiError(
                409,
                "idempotency_in_progress",
                "a request with this Idempotency-Key is still being processed",
            )
        return row[1], row[2]

    def finish(self, scope: str, key: str, status: int, body: bytes) -> None:
        with self._lock:
            if status >= 500:
                self._conn.execute(
                    "DELETE FROM responses WHERE scope = ? AND key = ?", (scope, key)
                )
            else:
                self._conn.execute(
                    "UPDATE responses SET status = ?, body = ? WHERE scope = ? AND key = ?",
                    (status, body, scope, key),
                )


def idempotent(view: View) -> View:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view(*args, **kwargs)
        if len(key) > 200:
            raise ApiError(400, "invalid_idempotency_key", "Idempotency-Key is too long")
        principal = current_principal()
        scope = f"{principal.role}:{principal.subject}" if principal else "anonymous"
        body = request.get_data()
        fingerprint = hashlib.sha256(
            request.method.encode() + b" " + request.path.encode() + b"\n" + body
        ).hexdigest()
        store: IdempotencyStore = current_app.config["IDEMPOTENCY"]
        replay = store.begin(scope, key, fingerprint)
        if replay is not None:
            return Response(
                replay[1],
                replay[0],
                content_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except ApiError as exc:
            response = current_app.make_response(
                (
                    json.dumps(
                        {
                            "error": {
                                "code": exc.code,
                                "message": exc.message,
                                "details": exc.details,
                            }
                        }
                    ),
                    exc.status,
                    {"Content-Type": "application/json"},
                )
            )
        except BaseException:
            store.finish(scope, key, 500, b"")
            raise
        store.finish(scope, key, response.status_code, response.get_data())
        return response

    return cast(View, wrapper)
