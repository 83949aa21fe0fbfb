"""A checkpoint witness (c2sp.org/tlog-witness): the bank and the regulator each run one.

`POST /add-checkpoint` takes

    old <size>
    <base64 consistency proof hash>      (zero or more lines)
    <empty line>
    <checkpoint note>

and answers 200 with the witness's cosignature/v1 line once it has verified the log's
signature and a consistency proof from the last checkpoint it cosigned, and recorded the new
one. Anything that would make it contradict itself is refused with 409: an `old` size that
is not its latest (the body then carries its latest size, as the spec says), a smaller tree
(rollback), the same size with another root, or a proof that does not verify. The spec
answers a bad proof with 422; our product requires 409 for every inconsistent checkpoint.
400 is a malformed request, 403 a bad log signature, 404 an unknown origin.

State is one row per origin, advanced by compare-and-swap inside a write transaction, so two
concurrent requests can never both move on from the same state, and a cosignature is only
returned after the new state has committed.
"""
from __future__ import annotations

import argparse
import base64
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, jsonify, request

from ledger import merkle
from ledger.note import COSIGNATURE_V1, Checkpoint, NoteError, Signer, Verifier, split_note

SIZE_CONTENT_TYPE = "text/x.tlog.size"


class Refused(Exception):
    def __init__(self, status: int, message: str, latest_size: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.latest_size = latest_size


@dataclass(frozen=True)
class Submission:
    old_size: int
    proof: list[bytes]
    note: str


def parse_submission(body: str) -> Submission:
    head, sep, note = body.partition("\n\n")
    lines = head.split("\n")
    if not sep or not lines[0].startswith("old "):
        raise Refused(400, "expected 'old <size>', proof lines, a blank line and the note")
    size_text = lines[0][4:]
    if not size_text.isdigit():
        raise Refused(400, f"bad old size {size_text!r}")
    try:
        proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
    except ValueError:
        raise Refused(400, "proof lines must be base64") from None
    if any(len(h) != merkle.HASH_SIZE for h in proof):
        raise Refused(400, "proof hashes must be 32 bytes")
    return Submission(int(size_text), proof, note)


class Witness:
    def __init__(self, signer: Signer, logs: dict[str, Verifier], db_path: str | Path,
                 clock: Callable[[], float] = time.time):
        if signer.sig_type != COSIGNATURE_V1:
            raise ValueError("a witness signs cosignature/v1 (type 0x04)")
        self.signer = signer
        self.logs = logs
        self.clock = clock
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(db_path), isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("PRAGMA busy_timeout = 30000")
        self._conn.execute("CREATE TABLE IF NOT EXISTS latest (origin TEXT PRIMARY KEY,"
                           " size INTEGER NOT NULL, root BLOB NOT NULL)")

    def latest(self, origin: str) -> tuple[int, bytes] | None:
        row = self._conn.execute("SELECT size, root FROM latest WHERE origin = ?",
                                 (origin,)).fetchone()
        return None if row is None else (row[0], bytes(row[1]))

    def add_checkpoint(self, submission: Submission) -> str:
        try:
            body, lines = split_note(submission.note)
            checkpoint = Checkpoint.parse(body)
        except (NoteError, ValueError) as exc:
            raise Refused(400, f"bad checkpoint note: {exc}") from None
        log_key = self.logs.get(checkpoint.origin)
        if log_key is None:
            raise Refused(404, f"unknown log {checkpoint.origin!r}")
        if not any(log_key.verify_line(body, line) for line in lines):
            raise Refused(403, "the log's signature does not verify")
        # One request at a time in this process; BEGIN IMMEDIATE guards other processes.
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._check(checkpoint, submission, self.latest(checkpoint.origin))
                self._conn.execute(
                    "INSERT INTO latest VALUES (?, ?, ?) ON CONFLICT (origin) DO UPDATE"
                    " SET size = excluded.size, root = excluded.root",
                    (checkpoint.origin, checkpoint.size, checkpoint.root))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return self.signer.sign_line(body, timestamp=int(self.clock()))

    @staticmethod
    def _check(checkpoint: Checkpoint, submission: Submission,
               latest: tuple[int, bytes] | None) -> None:
        latest_size, latest_root = latest or (0, merkle.EMPTY_ROOT)
        if submission.old_size != latest_size:
            raise Refused(409, f"old size {submission.old_size} is not the latest cosigned size"
                               f" {latest_size}", latest_size)
        if checkpoint.size < latest_size:
            raise Refused(409, f"rollback: size {checkpoint.size} < cosigned {latest_size}")
        if checkpoint.size == latest_size:
            if checkpoint.root != latest_root or submission.proof:
                raise Refused(409, "same size, different root: the log forked")
            return
        if latest_size == 0:
            if submission.proof:
                raise Refused(400, "the first checkpoint takes no proof")
            return
        if not merkle.verify_consistency(latest_size, checkpoint.size, submission.proof,
                                         latest_root, checkpoint.root):
            raise Refused(409, f"checkpoint {checkpoint.size} is not consistent with the"
                               f" cosigned checkpoint {latest_size}")

    def close(self) -> None:
        self._conn.close()


def create_witness_app(witness: Witness) -> Flask:
    app = Flask(__name__)

    @app.post("/add-checkpoint")
    def add_checkpoint():
        try:
            text = request.get_data().decode("utf-8")
            line = witness.add_checkpoint(parse_submission(text))
        except UnicodeDecodeError:
            return Response("body is not UTF-8\n", 400, content_type="text/plain")
        except Refused as refused:
            if refused.latest_size is not None:
                return Response(f"{refused.latest_size}\n", refused.status,
                                content_type=SIZE_CONTENT_TYPE)
            return Response(refused.message + "\n", refused.status, content_type="text/plain")
        return Response(line + "\n", 200, content_type="text/plain; charset=utf-8")

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok", "name": witness.signer.name,
                        "vkey": witness.signer.verifier.vkey()})

    return app


# --- command line --------------------------------------------------------------------------------
def load_or_create_key(name: str, key_file: Path) -> Signer:
    if key_file.exists():
        signer = Signer.from_private_text(key_file.read_text())
        if signer.name != name or signer.sig_type != COSIGNATURE_V1:
            raise SystemExit(f"{key_file} is not the cosigning key of {name!r}")
        return signer
    signer = Signer.generate(name, COSIGNATURE_V1)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(signer.private_text() + "\n")
    return signer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ledger.witness")
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init", help="create the witness key if missing; print its vkey")
    serve = commands.add_parser("serve", help="serve POST /add-checkpoint")
    for sub in (init, serve):
        sub.add_argument("--name", required=True)
        sub.add_argument("--key-file", required=True, type=Path)
    serve.add_argument("--log-vkey", required=True, action="append")
    serve.add_argument("--origin", help="checked against the log key's name")
    serve.add_argument("--db", required=True, type=Path)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8100)
    args = parser.parse_args(argv)
    signer = load_or_create_key(args.name, args.key_file)
    if args.command == "init":
        print(signer.verifier.vkey())
        return 0
    logs = {v.name: v for v in map(Verifier.from_vkey, args.log_vkey)}
    if args.origin and args.origin not in logs:
        parser.error(f"no --log-vkey is named {args.origin!r}")
    import waitress

    witness = Witness(signer, logs, args.db)
    waitress.serve(create_witness_app(witness), host=args.host, port=args.port, threads=4,
                   ident="prepaid-witness")
    return 0


if __name__ == "__main__":
    sys.exit(main())
