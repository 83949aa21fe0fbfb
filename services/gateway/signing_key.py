"""The gateway's token signing key file: an Ed25519 private key in PEM, after one line that
says which mode it was created for.

Demo mode creates its key on first start (`ensure`: of two gateways starting at once on one
key file, one creates it and the other loads that key); production never creates one and
refuses a key made for demo (or one made before keys recorded their mode, which only demo mode
did): a token minted by a demo platform's dev-login must never be signed by a production key. The
operator makes the production key once:

    python -m services.gateway.signing_key --mode production /path/to/jwt-ed25519.pem
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.key_files import create_key_file
from services.platform_mode import MODES

MODE_LINE = "# prepaid-trust gateway token signing key; mode: "


class KeyModeError(ValueError):
    """The key file was made for another mode than the gateway runs in."""


def create(path: str | Path, mode: str) -> None:
    """Writes a new key, readable by its owner only from the first byte; never replaces one."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    if not create_key_file(path, f"{MODE_LINE}{mode}\n".encode() + pem):
        raise FileExistsError(f"{path} exists; a key is never replaced")


def ensure(path: str | Path, mode: str) -> bool:
    """Creates the key unless one is there, as `create` does; True if this call made it. Of
    several processes creating it at once exactly one wins (the key appears by an atomic link,
    services/key_files.py) and the others find its key, complete, where they would have put
    theirs: losing that race is not an error."""
    try:
        create(path, mode)
    except FileExistsError:
        return False
    return True


def mode_of(data: bytes) -> str | None:
    first = data.split(b"\n", 1)[0].decode("utf-8", "replace")
    return first[len(MODE_LINE) :].strip() if first.startswith(MODE_LINE) else None


def load(path: str | Path, mode: str) -> Ed25519PrivateKey:
    path = Path(path)
    data = path.read_bytes()
    made_for = mode_of(data)
    if (made_for or "demo") != mode:
        raise KeyModeError(
            f"{path} was created for {made_for or 'demo (no mode recorded)'}, and this gateway"
            f" runs in {mode} mode: each mode needs its own key"
            f" (python -m services.gateway.signing_key --mode {mode} NEW_PATH)"
        )
    key = serialization.load_pem_private_key(data[data.index(b"-----BEGIN") :], password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def key_id(key: Ed25519PrivateKey) -> str:
    """The `kid` of the tokens it signs: a digest of the public key, so keys can be told apart
    (and rotated) without any secret in the header."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest()[:12]).decode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Create the gateway's token signing key")
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("path")
    args = parser.parse_args(argv)
    try:
        create(args.path, args.mode)
    except FileExistsError:
        print(f"{args.path} exists; it is never replaced", file=sys.stderr)
        return 1
    print(f"created {args.path} for {args.mode} mode")
    return 0


if __name__ == "__main__":
    sys.exit(main())
