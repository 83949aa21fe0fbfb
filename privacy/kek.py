"""The key-encryption key (KEK) that wraps each person's data key in a shared vault.

It comes from the environment or a mounted secret, never from the database that holds the
wrapped keys: `VAULT_KEK_FILE` names a file (a Kubernetes Secret or Compose secret mounted
read-only), else `VAULT_KEK` holds the text itself. The text is one or more keys, each 32
random bytes in base64 (`openssl rand -base64 32`), separated by white space or commas: the
first wraps every new key, and any of them unwraps, so a KEK is rotated without a stop
(README "Personal data"; `python -m privacy.rewrap`).

A wrapped key is AES-256-GCM over the data key with a fresh nonce, bound to its subject by
the associated data (a row moved to another subject does not unwrap), and stored with the id
of the KEK that wrapped it (a hash of the KEK, which reveals nothing of it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12


class KekError(ValueError):
    """No key-encryption key configured, a malformed one, or a key wrapped by an unknown one."""


def kek_id(kek: bytes) -> str:
    return hashlib.sha256(b"prepaid-trust vault kek\0" + kek).hexdigest()[:16]


@dataclass(frozen=True)
class KeyEncryptionKeys:
    keys: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise KekError("no key-encryption key given")
        for key in self.keys:
            if len(key) != KEY_BYTES:
                raise KekError(f"a key-encryption key is {KEY_BYTES} bytes, not {len(key)}")

    @property
    def current_id(self) -> str:
        return kek_id(self.keys[0])

    def _by_id(self, wanted: str) -> bytes:
        for key in self.keys:
            if kek_id(key) == wanted:
                return key
        raise KekError(
            f"a data key is wrapped by key-encryption key {wanted}, which is not configured"
            " (VAULT_KEK_FILE / VAULT_KEK): keep the old key listed until `python -m"
            " privacy.rewrap` has rewrapped every key"
        )

    def wrap(self, subject: str, data_key: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[0]).encrypt(nonce, data_key, _bound(subject))
        return self.current_id, nonce + sealed

    def unwrap(self, subject: str, wrapped_by: str, wrapped: bytes) -> bytes:
        raw = bytes(wrapped)
        return AESGCM(self._by_id(wrapped_by)).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], _bound(subject)
        )


def _bound(subject: str) -> bytes:
    return f"vault-key|{subject}".encode()


def parse_keks(text: str) -> KeyEncryptionKeys:
    keys = []
    for item in re.split(r"[\s,]+", text.strip()):
        if not item:
            continue
        try:
            keys.append(base64.b64decode(item.replace("-", "+").replace("_", "/"), validate=True))
        except (binascii.Error, ValueError) as exc:
            raise KekError("a key-encryption key is not base64") from exc
    return KeyEncryptionKeys(tuple(keys))


def load_keks(config: Mapping[str, object]) -> KeyEncryptionKeys:
    """From `VAULT_KEK_FILE` (a path) or `VAULT_KEK` (the keys), in `config`, else the
    environment."""

    path = str(config.get("VAULT_KEK_FILE") or os.environ.get("VAULT_KEK_FILE") or "")
    if path:
        try:
            return parse_keks(Path(path).read_text(encoding="ascii"))
        except OSError as exc:
            raise KekError(f"VAULT_KEK_FILE {path}: {exc.strerror}") from exc
    text = str(config.get("VAULT_KEK") or os.environ.get("VAULT_KEK") or "")
    if not text:
        raise KekError(
            "a vault in PostgreSQL needs its key-encryption key: set VAULT_KEK_FILE (a mounted"
            " secret) or VAULT_KEK (`openssl rand -base64 32`)"
        )
    return parse_keks(text)
