"""The wire format of c2sp.org/tlog-witness `POST /add-checkpoint`, shared by the witness
(`ledger.witness`) and the log's client (`ledger.witness_client`), without Flask or SQLite.

Request body, every line ending in a newline:

    old <size>                            ASCII decimal, no leading zeroes
    <base64 consistency proof hash>       zero to 63 lines; none when old is 0
    <empty line>
    <checkpoint note>                     body, empty line, signature lines

Answers: 200 text/plain with the cosignature line(s); 400 malformed; 403 the log's signature
does not verify; 404 unknown origin; 409 inconsistent with the witness's latest cosigned
checkpoint, with body "<latest size>\n" and Content-Type text/x.tlog.size when the old size
is not that latest size; 503 busy, retry.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from ledger import merkle

SIZE_CONTENT_TYPE = "text/x.tlog.size"
MAX_PROOF_LINES = 63
MAX_SIZE = 2**63 - 1  # SQLite's INTEGER; no real log comes near it
MAX_BODY = 64 * 1024
# At most as many digits as MAX_SIZE has, so a size is range-checked after an int() that
# cannot fail (Python refuses to convert strings of more than 4,300 digits).
_DECIMAL = f"(0|[1-9][0-9]{{0,{len(str(MAX_SIZE)) - 1}}})"
_OLD_LINE = re.compile(f"old {_DECIMAL}")
_SIZE_BODY = re.compile(f"{_DECIMAL}\n")


class Refused(Exception):
    """An add-checkpoint request the witness answers with `status` instead of a cosignature."""

    def __init__(
        self, status: int, message: str, latest_size: int | None = None, evidence: bool = False
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.latest_size = latest_size
        self.evidence = evidence  # a log-signed checkpoint that contradicts the cosigned one


@dataclass(frozen=True)
class Submission:
    old_size: int
    proof: list[bytes]
    note: str


def parse_submission(body: str) -> Submission:
    head, sep, note = body.partition("\n\n")
    lines = head.split("\n")
    old = _OLD_LINE.fullmatch(lines[0])
    if not sep or old is None:
        raise Refused(400, "expected 'old <size>', proof lines, an empty line and the note")
    old_size, proof_lines = int(old.group(1)), lines[1:]
    if old_size > MAX_SIZE or len(proof_lines) > MAX_PROOF_LINES:
        raise Refused(400, f"old size beyond {MAX_SIZE} or more than {MAX_PROOF_LINES} proofs")
    if old_size == 0 and proof_lines:
        raise Refused(400, "a proof from size 0 must be empty")
    proof = []
    for line in proof_lines:
        try:
            digest = base64.b64decode(line, validate=True)
        except ValueError:
            digest = b""
        # Canonical encodings only, so one proof has one spelling in logs and evidence.
        if len(digest) != merkle.HASH_SIZE or base64.b64encode(digest).decode() != line:
            raise Refused(400, f"proof line {line!r} is not a base64 32-byte hash")
        proof.append(digest)
    return Submission(old_size, proof, note)


def format_submission(old_size: int, proof: list[bytes], note: str) -> str:
    return (
        f"old {old_size}\n"
        + "".join(base64.b64encode(h).decode() + "\n" for h in proof)
        + "\n"
        + note
    )


def parse_size_body(content_type: str, body: str) -> int | None:
    """The witness's latest size from a 409 answer, or None when the 409 is not about it."""
    if content_type.split(";")[0].strip().lower() != SIZE_CONTENT_TYPE:
        return None
    match = _SIZE_BODY.fullmatch(body)
    return int(match.group(1)) if match else None
