"""What the production logins check: staff passwords with TOTP, device request signatures, and
the consumer's mini-program code exchange.

The registry is one TOML file the operator provisions (`GATEWAY_CREDENTIALS_FILE`, mode 0600):

    consumer_pepper = "<random, 32+ bytes, base64>"   # consumer ids are HMACs of the openid

    [[staff]]                       # regulators, inspectors, operators and bank staff
    username = "reg-zhang"
    role = "regulator"
    subject = "reg-weihai-1"
    password = "scrypt$16384$8$1$<salt b64>$<hash b64>"   # `python -m services.gateway.credentials`
    totp_secret = "<base32>"        # RFC 6238, SHA-1, 6 digits, 30 s: any authenticator app
    department = "commerce"         # regulators and inspectors only: samr, commerce,
                                    # education, sports, association
                                    # (services/risk/domain/departments.py)

    [[devices]]                     # merchant POS terminals and the bank's systems
    key_id = "pos-0001"
    role = "merchant"
    subject = "m-..."
    public_key = "<Ed25519 raw public key, base64>"

    [wechat]                        # the mini-program's code exchange
    app_id = "wx..."
    endpoint = "https://api.weixin.qq.com/sns/jscode2session"
    # the app secret comes from the environment, WECHAT_APP_SECRET, never from this file
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import struct
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.risk.domain.departments import DEPARTMENTS

DEPARTMENT_ROLES = ("regulator", "inspector")
"""The roles that belong to a department (a token's `dept` claim): a regulator, and an
inspector (执法检查人员) on a department's roster."""

TOTP_STEP, TOTP_DIGITS, TOTP_SKEW_STEPS = 30, 6, 1
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p)
        )
    except ValueError:
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def totp(secret_base32: str, step: int) -> str:
    """RFC 6238 over RFC 4226's dynamic truncation, for the 30-second step number `step`."""
    key = base64.b32decode(secret_base32.upper() + "=" * (-len(secret_base32) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**TOTP_DIGITS).zfill(TOTP_DIGITS)


def totp_step_matching(secret_base32: str, code: str, now: float) -> int | None:
    """The step whose code `code` is, within one step of clock skew either way."""
    current = int(now) // TOTP_STEP
    for step in range(current - TOTP_SKEW_STEPS, current + TOTP_SKEW_STEPS + 1):
        if hmac.compare_digest(totp(secret_base32, step), code):
            return step
    return None


def signature_valid(public_key_b64: str, message: bytes, signature_b64: str) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def consumer_subject(pepper: bytes, openid: str) -> str:
    """A stable pseudonym: the openid itself never reaches a token, an event or a log."""
    return "c-" + hmac.new(pepper, openid.encode(), hashlib.sha256).hexdigest()[:24]


@dataclass(frozen=True)
class Staff:
    username: str
    role: str
    subject: str
    password: str
    totp_secret: str
    department: str = ""


@dataclass(frozen=True)
class Device:
    key_id: str
    role: str
    subject: str
    public_key: str


@dataclass(frozen=True)
class Credentials:
    staff: dict[str, Staff] = field(default_factory=dict)
    devices: dict[str, Device] = field(default_factory=dict)
    consumer_pepper: bytes = b""
    wechat: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path | None) -> Credentials:
        if not path:
            return cls()
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        staff = {s["username"]: Staff(**s) for s in raw.get("staff", [])}
        devices = {d["key_id"]: Device(**d) for d in raw.get("devices", [])}
        people: list[Staff | Device] = [*staff.values(), *devices.values()]
        for who in people:
            if who.role not in ("regulator", "inspector", "operator", "bank", "merchant"):
                raise ValueError(f"{path}: role {who.role!r} cannot log in this way")
        for person in staff.values():
            if person.department and (
                person.department not in DEPARTMENTS or person.role not in DEPARTMENT_ROLES
            ):
                raise ValueError(
                    f"{path}: {person.username}: department {person.department!r} is not a "
                    f"regulator's or inspector's department ({', '.join(DEPARTMENTS)})"
                )
        pepper = raw.get("consumer_pepper", "")
        if raw.get("wechat") and len(base64.b64decode(pepper)) < 32:
            raise ValueError(f"{path}: consumer_pepper must be at least 32 random bytes")
        return cls(staff, devices, base64.b64decode(pepper), raw.get("wechat", {}))


def main() -> int:
    """Prints a password hash and a fresh TOTP secret for a [[staff]] entry."""
    import getpass

    password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline()
    print(f'password = "{hash_password(password.rstrip(chr(10)))}"')
    print(f'totp_secret = "{base64.b32encode(os.urandom(20)).decode()}"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
