"""Merchants for tests: an application's body, a fresh USCC, onboarding through the gateway."""

from __future__ import annotations

import uuid

from services.merchant.domain.uscc import ALPHABET, check_character
from tests.support.gateway import auth

USCC = "91350100M000100Y43"
PHONE = "13812345678"


def application(**changes) -> dict:
    return {
        "name": "Weihai Fitness",
        "uscc": USCC,
        "industry": "fitness",
        "address": "1 Haibin Road",
        "contact_phone": PHONE,
    } | changes


def fresh_uscc() -> str:
    """A valid USCC no other merchant of the test holds (a USCC is unique among live ones)."""
    number, body = uuid.uuid4().int, ""
    for _ in range(9):
        number, digit = divmod(number, len(ALPHABET))
        body += ALPHABET[digit]
    first17 = "91350100" + body
    return first17 + check_character(first17)


def onboard(client, **changes) -> str:
    """Applied for by one operator and approved by another (maker-checker)."""
    changes.setdefault("uscc", fresh_uscc())
    operator = auth(client, "operator", "op-1")
    created = client.post("/api/v1/merchants", json=application(**changes), headers=operator)
    assert created.status_code == 201, created.get_json()
    merchant_id = created.get_json()["merchant_id"]
    approved = client.post(
        f"/api/v1/merchants/{merchant_id}/approve", headers=auth(client, "operator", "op-2")
    )
    assert approved.get_json() == {"merchant_id": merchant_id, "status": "active"}
    return merchant_id
