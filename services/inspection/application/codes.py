"""e码查: the merchant's code, a short-lived token signed with the service's Ed25519 key.

    token = base64url(payload) "." base64url(Ed25519 signature of the payload bytes)
    payload = canonical JSON {"exp": ISO time, "merchant_id": id, "v": 1}

The merchant console shows it (text or QR); an inspector checking in sends it back, and the
service accepts it only with a good signature, before `exp`, and for the inspected merchant.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.domain_errors import BusinessRuleViolation
from services.inspection.domain.draw import canonical


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def merchant_code(
    merchant_id: str, *, key: Ed25519PrivateKey, now: datetime, valid_minutes: int
) -> dict:
    expires = (now + timedelta(minutes=valid_minutes)).isoformat()
    payload = canonical({"exp": expires, "merchant_id": merchant_id, "v": 1})
    return {
        "merchant_code": f"{_b64(payload)}.{_b64(key.sign(payload))}",
        "expires_at": expires,
    }


def _refuse(why: str) -> BusinessRuleViolation:
    return BusinessRuleViolation(f"商户码无效 (the merchant code {why})", "invalid_merchant_code")


def verify(code: object, merchant_id: str, *, key: Ed25519PrivateKey, now: datetime) -> None:
    """Raises 422 `invalid_merchant_code` unless `code` is this merchant's, signed and current."""
    if not isinstance(code, str) or code.count(".") != 1 or len(code) > 1000:
        raise _refuse("is not a merchant code")
    try:
        body, signature = (_unb64(part) for part in code.split("."))
        key.public_key().verify(signature, body)
        payload = json.loads(body)
        expires = datetime.fromisoformat(payload["exp"])
    except (ValueError, KeyError, TypeError, InvalidSignature):
        raise _refuse("has a bad signature") from None
    if payload.get("merchant_id") != merchant_id:
        raise _refuse("is another merchant's")
    if now >= expires:
        raise _refuse("has expired")
