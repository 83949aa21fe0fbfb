"""Signed notes (c2sp.org/signed-note), checkpoints (c2sp.org/tlog-checkpoint) and witness
cosignatures (c2sp.org/tlog-cosignature, cosignature/v1), with Ed25519.

A checkpoint body is three lines: origin, tree size, base64 root hash. A note is the body, a
blank line, and one line per signature: "— <name> base64(key id || signature)". The key id is
the first 4 bytes of SHA-256(name || "\\n" || type || public key), type 0x01 for the log's
Ed25519 note signature and 0x04 for a timestamped witness cosignature, whose signature is
timestamp (u64, big-endian) || Ed25519 over "cosignature/v1\\ntime <t>\\n" || body.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
DASH = "\u2014 "


class NoteError(ValueError):
    """A note, key or checkpoint that does not parse."""


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class Signer:
    """A log (type 0x01) or witness (type 0x04) signing key with its name."""

    name: str
    private_key: Ed25519PrivateKey
    sig_type: int = ED25519

    @classmethod
    def generate(cls, name: str, sig_type: int = ED25519) -> Signer:
        _check_name(name)
        return cls(name, Ed25519PrivateKey.generate(), sig_type)

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, _raw_public(self.private_key.public_key()), self.sig_type)

    def private_text(self) -> str:
        """Go's note format: PRIVATE+KEY+<name>+<key id hex>+base64(type || seed)."""
        seed = self.private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return (
            f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+"
            f"{base64.b64encode(bytes([self.sig_type]) + seed).decode()}"
        )

    @classmethod
    def from_private_text(cls, text: str) -> Signer:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("not a PRIVATE+KEY+name+id+key string")
        raw = base64.b64decode(parts[4])
        signer = cls(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]), raw[0])
        if signer.verifier.key_id.hex() != parts[3]:
            raise NoteError("private key does not match its key id")
        return signer

    def sign_line(self, body: str, timestamp: int | None = None) -> str:
        if self.sig_type == COSIGNATURE_V1:
            if timestamp is None:
                raise ValueError("a cosignature needs its timestamp")
            message = cosigned_message(body, timestamp)
            signature = struct.pack(">Q", timestamp) + self.private_key.sign(message)
        else:
            signature = self.private_key.sign(body.encode())
        payload = self.verifier.key_id + signature
        return f"{DASH}{self.name} {base64.b64encode(payload).decode()}"


@dataclass(frozen=True)
class Verifier:
    name: str
    public_key: bytes
    sig_type: int = ED25519

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.sig_type, self.public_key)

    def vkey(self) -> str:
        """c2sp.org/signed-note verifier key: <name>+<key id hex>+base64(type || key)."""
        material = base64.b64encode(bytes([self.sig_type]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        try:
            name, hex_id, material = vkey.strip().split("+", 2)
            raw = base64.b64decode(material, validate=True)
        except ValueError as exc:
            raise NoteError(f"bad verifier key {vkey!r}") from exc
        verifier = cls(name, raw[1:], raw[0])
        if verifier.key_id.hex() != hex_id or len(verifier.public_key) != 32:
            raise NoteError(f"verifier key {vkey!r} does not match its key id")
        return verifier

    def verify_line(self, body: str, line: str) -> bool:
        """Whether a signature line is this key's valid signature over `body`."""
        try:
            name, payload = _parse_line(line)
        except NoteError:
            return False
        if name != self.name or payload[:4] != self.key_id:
            return False
        public = Ed25519PublicKey.from_public_bytes(self.public_key)
        try:
            if self.sig_type == COSIGNATURE_V1:
                if len(payload) != 4 + 8 + 64:
                    return False
                (timestamp,) = struct.unpack(">Q", payload[4:12])
                public.verify(payload[12:], cosigned_message(body, timestamp))
            else:
                public.verify(payload[4:], body.encode())
        except InvalidSignature:
            return False
        return True


def cosigned_message(body: str, timestamp: int) -> bytes:
    if not 0 <= timestamp < 2**63:
        raise ValueError("timestamp out of range")
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


def cosignature_time(line: str) -> int:
    _, payload = _parse_line(line)
    return struct.unpack(">Q", payload[4:12])[0]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")


def _parse_line(line: str) -> tuple[str, bytes]:
    if not line.startswith(DASH):
        raise NoteError(f"not a signature line: {line!r}")
    name, _, encoded = line[len(DASH) :].partition(" ")
    try:
        payload = base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise NoteError("signature is not base64") from exc
    if len(payload) < 5:
        raise NoteError("signature too short")
    return name, payload


# --- checkpoints --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        lines = body.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not lines[0]:
            raise NoteError("a checkpoint body is origin, size and root, each ending in \\n")
        size_text = lines[1]
        if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
            raise NoteError(f"bad tree size {size_text!r}")
        root = base64.b64decode(lines[2], validate=True)
        if len(root) != 32:
            raise NoteError("root hash must be 32 bytes")
        return cls(lines[0], int(size_text), root)


def sign_note(body: str, *lines_or_signers) -> str:
    lines = [s.sign_line(body) if isinstance(s, Signer) else s for s in lines_or_signers]
    return body + "\n" + "".join(line + "\n" for line in lines)


def split_note(note: str) -> tuple[str, list[str]]:
    """(body, signature lines). The body keeps its final newline."""
    body, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise NoteError("a note is its text, a blank line and signature lines")
    lines = signatures[:-1].split("\n")
    for line in lines:
        _parse_line(line)
    return body + "\n", lines


def add_signatures(note: str, lines: list[str]) -> str:
    body, existing = split_note(note)
    merged = existing + [line for line in lines if line not in existing]
    return sign_note(body, *merged)


def verified_by(note: str, verifiers: list[Verifier]) -> set[str]:
    """The names of the verifiers whose valid signature the note carries."""
    body, lines = split_note(note)
    return {v.name for v in verifiers if any(v.verify_line(body, line) for line in lines)}
