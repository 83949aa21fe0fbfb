"""A checkpoint witness (c2sp.org/tlog-witness): the bank and the regulator each run one.

It answers `POST /add-checkpoint` (wire format and status codes: `ledger.witness_protocol`)
with its cosignature/v1 line once it has verified the log's signature and a consistency proof
from the last checkpoint it cosigned for that origin, and has committed the new one. The first
checkpoint of an origin comes with `old 0` and no proof: it is trusted on first use.

Deviation from c2sp.org/tlog-witness: the spec answers a consistency proof that does not
verify with 422, and a rollback (old > size) with 400. Our product spec demands 409 for every
checkpoint inconsistent with what the witness cosigned (stale old size, rollback, same size
with another root, bad proof), so a log needs one rule: 409 means "the witness will not follow
you there". Only the stale-old-size 409 carries the latest size (text/x.tlog.size).

State is one row per origin in SQLite (WAL, synchronous FULL). A request is checked against
a snapshot of that row, then a BEGIN IMMEDIATE transaction re-reads it and writes only if it
is still the snapshot (compare-and-swap), so of two requests checked against the same state
at most one moves on from it, even across processes sharing the file; the other gets the
stale-size 409 and can prove from the new state. The cosignature leaves only after COMMIT.
A log-signed fork or bad proof is also kept in `conflicts`, as evidence of the log's
misbehaviour (the spec allows it; the state is unaffected).

    python -m ledger.witness init  --name NAME --key-file PATH      # prints the witness vkey
    python -m ledger.witness serve --name NAME --key-file PATH --log-vkey VKEY --origin ORIGIN
                                   --db PATH [--host 127.0.0.1] [--port 8100]
                                   [--metrics-host 127.0.0.1] [--metrics-port N]

`--metrics-port` (default: env METRICS_PORT; 0 or unset: none) serves /metrics, /livez and
/readyz apart from the witness's own port (ledger/witness_ops.py).
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import waitress
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from ledger import merkle
from ledger.note import (
    COSIGNATURE_V1,
    DASH,
    ED25519,
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    split_note,
)
from ledger.witness_ops import instrument, serve_operations
from ledger.witness_protocol import (
    MAX_BODY,
    MAX_SIZE,
    SIZE_CONTENT_TYPE,
    Refused,
    Submission,
    format_submission,
    parse_submission,
)
from services.key_files import load_or_create_key_file

__all__ = [
    "Refused",
    "Submission",
    "Witness",
    "create_witness_app",
    "format_submission",
    "parse_submission",
    "main",
]

log = logging.getLogger("ledger.witness")

SCHEMA = """
CREATE TABLE IF NOT EXISTS latest (
    origin TEXT PRIMARY KEY,
    size   INTEGER NOT NULL,
    root   BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS conflicts (
    origin  TEXT NOT NULL,
    size    INTEGER NOT NULL,
    root    BLOB NOT NULL,
    reason  TEXT NOT NULL,
    note    TEXT NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (origin, size, root)
);
"""


class Witness:
    def __init__(
        self,
        signer: Signer,
        logs: Mapping[str, Verifier],
        db_path: str | Path,
        clock: Callable[[], float] = time.time,
    ):
        if signer.sig_type != COSIGNATURE_V1:
            raise ValueError("a witness signs cosignature/v1 (type 0x04)")
        if any(v.sig_type != ED25519 for v in logs.values()):
            raise ValueError("log keys must be Ed25519 note keys (type 0x01)")
        self.signer = signer
        self.logs = dict(logs)
        self.clock = clock
        self.db_path = str(db_path)
        # One connection per thread: a transaction belongs to a connection, so threads sharing
        # one could not each hold their own BEGIN IMMEDIATE.
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        conn = self._conn()
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.db_path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA busy_timeout = 10000")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    # --- reading -------------------------------------------------------------------------------
    def latest(self, origin: str) -> tuple[int, bytes] | None:
        row = (
            self._conn()
            .execute("SELECT size, root FROM latest WHERE origin = ?", (origin,))
            .fetchone()
        )
        return None if row is None else (row[0], bytes(row[1]))

    def conflicts(self, origin: str) -> list[tuple[int, bytes, str, str]]:
        """(size, root, reason, note) of the log-signed checkpoints refused as inconsistent."""
        rows = self._conn().execute(
            "SELECT size, root, reason, note FROM conflicts"
            " WHERE origin = ? ORDER BY seen_at, size",
            (origin,),
        )
        return [(size, bytes(root), reason, note) for size, root, reason, note in rows]

    # --- add-checkpoint ------------------------------------------------------------------------
    def add_checkpoint(self, submission: Submission) -> str:
        """The cosignature line for the submitted checkpoint, once it is the committed state."""
        body, checkpoint = self._verified_checkpoint(submission.note)
        snapshot = self.latest(checkpoint.origin)
        try:
            self._check(checkpoint, submission, snapshot)
        except Refused as refused:
            if refused.evidence:
                self._keep_evidence(checkpoint, submission.note, refused.message)
            raise
        timestamp = int(self.clock())
        if timestamp <= 0:
            raise RuntimeError("the witness clock reads before 1970")  # spec: never time 0
        self._compare_and_swap(checkpoint, snapshot)
        return self.signer.sign_line(body, timestamp=timestamp)

    def _verified_checkpoint(self, note: str) -> tuple[str, Checkpoint]:
        try:
            body, lines = split_note(note)
            checkpoint = Checkpoint.parse(body)
        except (NoteError, ValueError) as exc:
            raise Refused(400, f"bad checkpoint note: {exc}") from None
        if checkpoint.size > MAX_SIZE:
            raise Refused(400, f"checkpoint size beyond {MAX_SIZE}")
        log_key = self.logs.get(checkpoint.origin)
        if log_key is None:
            raise Refused(404, f"unknown log {checkpoint.origin!r}")
        # Per the spec, a line naming the log's key that does not verify spoils the note even
        # when another line verifies: signed-note calls such a note malformed.
        claimed = [line for line in lines if _names_key(line, log_key)]
        if not claimed or not all(log_key.verify_line(body, line) for line in claimed):
            raise Refused(403, "the log's signature does not verify")
        return body, checkpoint

    @staticmethod
    def _check(
        checkpoint: Checkpoint, submission: Submission, latest: tuple[int, bytes] | None
    ) -> None:
        latest_size, latest_root = latest or (0, merkle.EMPTY_ROOT)
        if submission.old_size != latest_size:
            raise Refused(
                409,
                f"old size {submission.old_size} is not the latest cosigned size {latest_size}",
                latest_size,
            )
        if checkpoint.size < latest_size:
            raise Refused(409, f"rollback: size {checkpoint.size} < cosigned {latest_size}")
        if checkpoint.size == latest_size:
            if checkpoint.root != latest_root:
                raise Refused(
                    409, f"size {latest_size} with another root: the log forked", evidence=True
                )
            if submission.proof:
                raise Refused(409, "a proof between equal sizes must be empty")
            return
        if latest_size == 0:
            return  # trust on first use: every tree extends the empty one
        if not merkle.verify_consistency(
            latest_size, checkpoint.size, submission.proof, latest_root, checkpoint.root
        ):
            raise Refused(
                409,
                f"checkpoint {checkpoint.size} is not consistent with the"
                f" cosigned checkpoint {latest_size}",
                evidence=True,
            )

    def _compare_and_swap(self, checkpoint: Checkpoint, expected: tuple[int, bytes] | None) -> None:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise Refused(503, f"witness state is busy: {exc}") from None
        try:
            current = self.latest(checkpoint.origin)
            if current != expected:
                # Another request moved the state after this one was checked: its proof was
                # from a size that is no longer the latest.
                size = current[0] if current else 0
                raise Refused(409, f"state moved to size {size} during the check", size)
            if expected is None:
                conn.execute(
                    "INSERT INTO latest VALUES (?, ?, ?)",
                    (checkpoint.origin, checkpoint.size, checkpoint.root),
                )
            else:
                conn.execute(
                    "UPDATE latest SET size = ?, root = ? WHERE origin = ?",
                    (checkpoint.size, checkpoint.root, checkpoint.origin),
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # a failed COMMIT may already have rolled back
                conn.execute("ROLLBACK")
            raise

    def _keep_evidence(self, checkpoint: Checkpoint, note: str, reason: str) -> None:
        try:
            self._conn().execute(
                "INSERT OR IGNORE INTO conflicts VALUES (?, ?, ?, ?, ?, ?)",
                (
                    checkpoint.origin,
                    checkpoint.size,
                    checkpoint.root,
                    reason,
                    note,
                    int(self.clock()),
                ),
            )
        except sqlite3.Error:
            log.exception("could not keep evidence of a conflicting checkpoint")
        log.warning("refused %s at size %d: %s", checkpoint.origin, checkpoint.size, reason)


def _names_key(line: str, key: Verifier) -> bool:
    name, _, encoded = line[len(DASH) :].partition(" ")
    try:
        return name == key.name and base64.b64decode(encoded)[:4] == key.key_id
    except ValueError:
        return False


# --- HTTP ----------------------------------------------------------------------------------------
def create_witness_app(witness: Witness) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY

    @app.post("/add-checkpoint")
    def add_checkpoint():
        try:
            text = request.get_data().decode("utf-8")
            line = witness.add_checkpoint(parse_submission(text))
        except UnicodeDecodeError:
            return Response("body is not UTF-8\n", 400, content_type="text/plain")
        except Refused as refused:
            if refused.latest_size is not None:
                return Response(
                    f"{refused.latest_size}\n", refused.status, content_type=SIZE_CONTENT_TYPE
                )
            headers = {"Retry-After": "1"} if refused.status == 503 else {}
            return Response(
                refused.message + "\n",
                refused.status,
                headers=headers,
                content_type="text/plain; charset=utf-8",
            )
        return Response(line + "\n", 200, content_type="text/plain; charset=utf-8")

    @app.get("/healthz")
    def healthz():
        return jsonify(
            {"status": "ok", "name": witness.signer.name, "vkey": witness.signer.verifier.vkey()}
        )

    # The witness speaks text/plain (its clients are logs, not browsers): no HTML error
    # pages, and an unexpected failure is logged with its trace, not sent.
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return Response(f"{exc.name}\n", exc.code or 500, content_type="text/plain; charset=utf-8")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("add-checkpoint failed")
        return Response("internal error\n", 500, content_type="text/plain; charset=utf-8")

    return app


# --- command line --------------------------------------------------------------------------------
def load_or_create_key(name: str, key_file: Path) -> Signer:
    text = load_or_create_key_file(
        key_file, lambda: f"{Signer.generate(name, COSIGNATURE_V1).private_text()}\n".encode()
    )
    signer = Signer.from_private_text(text.decode())
    if signer.name != name or signer.sig_type != COSIGNATURE_V1:
        raise SystemExit(f"{key_file} is not the cosigning key of {name!r}")
    return signer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ledger.witness")
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init", help="create the witness key if missing; print its vkey")
    serve = commands.add_parser("serve", help="serve POST /add-checkpoint and GET /healthz")
    for sub in (init, serve):
        sub.add_argument("--name", required=True)
        sub.add_argument("--key-file", required=True, type=Path)
    serve.add_argument("--log-vkey", required=True, help="the log's Ed25519 note vkey")
    serve.add_argument("--origin", required=True, help="the log's checkpoint origin line")
    serve.add_argument("--db", required=True, type=Path)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8100)
    serve.add_argument("--metrics-host", default=os.environ.get("METRICS_HOST", "127.0.0.1"))
    # A string default: argparse converts it with type=int only when `serve` is parsed without
    # the option, so a bad METRICS_PORT is serve's usage error, and never breaks `init`.
    serve.add_argument("--metrics-port", type=int, default=os.environ.get("METRICS_PORT") or "0")
    args = parser.parse_args(argv)
    if args.command == "init":
        print(load_or_create_key(args.name, args.key_file).verifier.vkey())
        return 0
    if not args.key_file.exists():
        parser.error(f"{args.key_file} does not exist: run `init` first")
    signer = load_or_create_key(args.name, args.key_file)
    try:
        log_key = Verifier.from_vkey(args.log_vkey)
    except (NoteError, ValueError, IndexError) as exc:
        parser.error(f"bad --log-vkey: {exc}")
    if log_key.sig_type != ED25519:
        parser.error("--log-vkey must be an Ed25519 note key (type 0x01)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args.db.parent.mkdir(parents=True, exist_ok=True)
    witness = Witness(signer, {args.origin: log_key}, args.db)
    log.info(
        "witness %s for %s on %s:%d", signer.verifier.vkey(), args.origin, args.host, args.port
    )
    operations = None
    if args.metrics_port:
        operations = serve_operations(args.db, [args.origin], args.metrics_host, args.metrics_port)
    try:
        waitress.serve(
            instrument(create_witness_app(witness)),
            host=args.host,
            port=args.port,
            threads=8,
            ident="prepaid-witness",
        )
    finally:
        if operations is not None:
            operations.shutdown()
        witness.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
