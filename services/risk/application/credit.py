"""Credit recommendation reports for green merchants, signed by the platform for banks.

The report is canonical JSON (sorted keys, no spaces, no floats) with the indicators and the
code history that justify it; the signature is Ed25519 over exactly those bytes, so a bank can
verify it offline with the platform's public key.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eventstore import EventStore
from services.domain_errors import BusinessRuleViolation, NotFound
from services.risk.application.projections import CODES
from services.risk.application.store import code_stream

REPORT_DAYS = 30


def canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def credit_report(
    merchant_id: str, *, store: EventStore, key: Ed25519PrivateKey, key_id: str, now: datetime
) -> dict:
    code = store.get_view(CODES, merchant_id)
    if code is None:
        raise NotFound(f"no assessment of {merchant_id} yet")
    if code["code"] != "green":
        raise BusinessRuleViolation(
            "credit recommendations are for green merchants", "not_green", {"code": code["code"]}
        )
    history = [
        {
            "code": r.data["code"],
            "previous": r.data["previous"],
            "at": r.data["evaluated_at"],
            "reasons": [x["indicator"] for x in r.data["reasons"]],
        }
        for r in store.read_stream(code_stream(merchant_id))
        if r.type == "risk.HealthCodeChanged.v1"
    ]
    report = {
        "report": "prepaid-trust.credit-recommendation.v1",
        "merchant_id": merchant_id,
        "code": "green",
        "green_since": code["since"],
        "indicators": code["metrics"],
        "assessed_at": code["evaluated_at"],
        "history": history,
        "issued_at": now.isoformat(),
        "valid_until": (now + timedelta(days=REPORT_DAYS)).isoformat(),
    }
    signature = key.sign(canonical(report))
    return {
        "report": report,
        "signature": {
            "alg": "Ed25519",
            "key_id": key_id,
            "sig": base64.b64encode(signature).decode(),
        },
    }


def public_key(key: Ed25519PrivateKey, key_id: str) -> dict:
    """What a bank needs to check a report offline: the raw Ed25519 public key, base64."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"alg": "Ed25519", "key_id": key_id, "public_key_b64": base64.b64encode(raw).decode()}
