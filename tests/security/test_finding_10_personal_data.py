"""Finding 10: personal data.

* A 7-digit phone was shown in full to anonymous readers and an 8-digit one lost one digit:
  the mask kept the first 3 and last 4 digits whatever the length.
* Anonymous `GET /merchants/{id}/health` showed the outstanding money and escrow figures that
  `/stats` restricts to the merchant and regulators.
* Ledger entries named the consumer by the same id at every merchant, so merchants comparing
  receipts could link one consumer across shops.
* `Vault.forget` could not be reached: no endpoint, no command. And a forgotten key stayed in
  the vault's write-ahead log.

Now the mask shows at most the last 4 digits, fewer than half, and keeps the length; public
health carries the code, reasons and non-money metrics; entries name a consumer by an HMAC
pseudonym per merchant (and the consumer still gets their receipts); and
`DELETE /api/v1/consumers/me` and `python -m services.erasure` erase a person, after which no
file of the platform holds their plaintext or their key, and the ledger still verifies.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy import mask_phone
from services.gateway.app import create_app
from tests.support.gateway import auth, gateway_settings
from tests.support.harness import (
    ROOT,
    start_nameko,
    start_relay,
    start_service,
    stop,
    store_url,
    wait_until,
)
from tests.support.merchants import onboard

MONEY_METRICS = {
    "issued_30",
    "issued_90",
    "redeemed_30",
    "redeemed_90",
    "outstanding",
    "escrow_held",
}
STORED_VALUE = {
    "type": "stored_value",
    "name": "100 yuan",
    "price": 10_000,
    "bonus": 0,
    "validity_days": 365,
}


# --- masking ------------------------------------------------------------------------------------
@pytest.mark.parametrize("phone", ["5812345", "58123456", "06315812345", "13812345678"])
def test_short_landlines_are_masked_too(phone):
    masked = mask_phone(phone)
    assert len(masked) == len(phone)
    assert masked.count("*") >= max(4, len(phone) // 2 + 1), masked


@given(
    digits=st.text(alphabet="0123456789", max_size=24),
    prefix=st.sampled_from(["", "+", "+86 ", "0631-"]),
)
def test_any_length_shows_at_most_a_few_digits_and_keeps_its_length(digits, prefix):
    phone = prefix + digits
    masked = mask_phone(phone)
    assert len(masked) == len(phone)
    shown = [i for i, char in enumerate(masked) if char.isdigit()]
    count = sum(char.isdigit() for char in phone)
    assert len(shown) <= 4, masked
    assert count - len(shown) >= min(count, 4), f"at least 4 digits hidden: {masked}"
    assert len(shown) * 2 < max(count, 1), f"fewer than half shown: {masked}"
    assert all(masked[i] == phone[i] for i in shown), "a shown digit is the real one"
    assert all(masked[i] == phone[i] for i, char in enumerate(phone) if not char.isdigit())


# --- the platform -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def platform(rabbit_node, tmp_path_factory):
    base = tmp_path_factory.mktemp("people")
    vhost = f"t-{uuid.uuid4().hex[:12]}"
    amqp_uri = rabbit_node.add_vhost(vhost)
    processes = [start_service(name, base, amqp_uri) for name in ("merchant", "escrow", "risk")]
    processes.append(
        start_nameko(
            "ledger.service:LedgerService",
            {"AMQP_URI": amqp_uri, "LEDGER_DIR": str(base / "ledger")},
            base,
        )
    )
    app = None
    try:
        app = create_app(gateway_settings(base, amqp_uri))
        client = app.test_client()
        regulator = auth(client, "regulator", "reg-1")
        wait_until(
            lambda: (
                client.get("/api/v1/merchants").status_code == 200
                and client.get("/api/v1/alerts", headers=regulator).status_code == 200
                and client.get(
                    "/api/v1/consumers/me/cards", headers=auth(client, "consumer", "probe")
                ).status_code
                == 200
                and client.get("/api/v1/ledger/consistency?first=0&second=0").status_code != 503
            ),
            timeout=90,
            what="the services",
        )
        processes += [
            start_relay(name, store_url(base, name), amqp_uri, base)
            for name in ("merchant", "escrow", "risk")
        ]
        yield client, base, amqp_uri
    finally:
        if app is not None:
            app.config["RPC_POOL"].close()
        for process in processes:
            stop(process)
        rabbit_node.ctl("delete_vhost", vhost)


def _shop(client, **changes) -> tuple[str, dict, str]:
    merchant_id = onboard(client, **changes)
    merchant = auth(client, "merchant", merchant_id)
    product = client.post(
        f"/api/v1/merchants/{merchant_id}/products", json=STORED_VALUE, headers=merchant
    ).get_json()["product_id"]
    return merchant_id, merchant, product


def _spend(client, consumer: dict, merchant: dict, product: str) -> str:
    """A card bought and a confirmed spend: the confirmation's event id."""
    card = client.post("/api/v1/cards", json={"product_id": product}, headers=consumer)
    assert card.status_code == 201, card.get_json()
    hold = client.post(
        f"/api/v1/cards/{card.get_json()['card_id']}/redemptions",
        json={"amount": 1_000},
        headers=merchant,
    ).get_json()
    confirmed = client.post(
        f"/api/v1/redemptions/{hold['redemption_id']}/confirm", headers=consumer
    ).get_json()
    return confirmed["event_id"]


@pytest.mark.broker
def test_public_health_shows_no_money(platform):
    client, _, _ = platform
    merchant_id, merchant, product = _shop(client)
    _spend(client, auth(client, "consumer", "c-health"), merchant, product)
    url = f"/api/v1/merchants/{merchant_id}/health"
    wait_until(
        lambda: (
            client.get(url, headers=merchant).status_code == 200
            and client.get(url, headers=merchant).get_json()["metrics"]["outstanding"] > 0
        ),
        timeout=60,
        what="the risk service to see the card",
    )

    for who in (
        {},
        auth(client, "consumer", "c-health"),
        auth(client, "merchant", "m-other"),
        auth(client, "bank", "b-1"),
        auth(client, "operator", "op-1"),
    ):
        public = client.get(url, headers=who).get_json()
        assert public["code"] and isinstance(public["reasons"], list)
        assert not MONEY_METRICS & set(public["metrics"]), public["metrics"]
        assert public["metrics"]["open_cards"] == 1, "the non-money metrics stay public"
    for who in (merchant, auth(client, "regulator", "reg-1")):
        full = client.get(url, headers=who).get_json()["metrics"]
        assert MONEY_METRICS <= set(full) and full["outstanding"] == 9_000
    described = client.get("/api/v1/openapi.json").get_json()["paths"][
        "/api/v1/merchants/{merchant_id}/health"
    ]["get"]["summary"]
    assert "only the merchant itself and regulators" in described


@pytest.mark.broker
def test_receipts_name_a_consumer_differently_at_each_merchant(platform):
    client, base, _ = platform
    consumer_id = f"c-link-{uuid.uuid4().hex[:8]}"
    consumer = auth(client, "consumer", consumer_id)
    (_, merchant_a, product_a), (_, merchant_b, product_b) = _shop(client), _shop(client)
    event_a = _spend(client, consumer, merchant_a, product_a)
    event_b = _spend(client, consumer, merchant_b, product_b)

    def receipt(event_id, headers):
        return client.get(f"/api/v1/ledger/receipts/{event_id}", headers=headers)

    wait_until(
        lambda: (
            receipt(event_a, consumer).status_code == 200
            and receipt(event_b, consumer).status_code == 200
        ),
        timeout=60,
        what="both receipts, for their consumer",
    )
    named = {}
    for event_id, merchant in ((event_a, merchant_a), (event_b, merchant_b)):
        got = receipt(event_id, merchant)
        assert got.status_code == 200, got.get_json()
        entry = json.loads(base64.b64decode(got.get_json()["entry"]))
        named[event_id] = entry["parties"]["consumer_id"]
        assert consumer_id not in json.dumps(entry)
    assert named[event_a] != named[event_b], "two merchants cannot link their consumer"
    assert receipt(event_b, merchant_a).status_code == 404
    assert receipt(event_a, auth(client, "consumer", "c-someone-else")).status_code == 404
    assert consumer_id.encode() not in (base / "ledger" / "ledger.db").read_bytes()
    # The same consumer at the same merchant keeps one pseudonym, so their receipts there
    # still belong together.
    again = _spend(client, consumer, merchant_a, product_a)
    wait_until(
        lambda: receipt(again, merchant_a).status_code == 200, timeout=60, what="the second receipt"
    )
    entry = json.loads(base64.b64decode(receipt(again, merchant_a).get_json()["entry"]))
    assert entry["parties"]["consumer_id"] == named[event_a]


def _key(vault: Path, subject: str) -> bytes:
    with sqlite3.connect(vault) as conn:
        return bytes(
            conn.execute("SELECT key FROM subject_keys WHERE subject = ?", (subject,)).fetchone()[0]
        )


def _files(base: Path) -> list[Path]:
    return [p for p in base.rglob("*") if p.is_file()]


@pytest.mark.broker
def test_a_person_is_erased_for_good_and_the_ledger_still_verifies(platform):
    client, base, amqp_uri = platform
    phone = "139" + str(uuid.uuid4().int)[:8]
    merchant_id, merchant, product = _shop(client, contact_phone=phone)
    consumer_id = f"c-forget-{uuid.uuid4().hex[:8]}"
    consumer = auth(client, "consumer", consumer_id)
    _spend(client, consumer, merchant, product)
    text = f"会员卡退款被拒，店员态度恶劣 {uuid.uuid4().hex}"
    answer = f"我们会在三天内退款 {uuid.uuid4().hex}"
    # With Idempotency-Keys, as real clients send them: the gateway keeps those answers.
    filed = client.post(
        "/api/v1/complaints",
        json={"merchant_id": merchant_id, "category": "refused_refund", "text": text},
        headers=consumer | {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert filed.status_code == 201, filed.get_json()
    complaint = f"/api/v1/complaints/{filed.get_json()['complaint_id']}"
    assert (
        client.post(
            f"{complaint}/response",
            json={"response": answer},
            headers=merchant | {"Idempotency-Key": uuid.uuid4().hex},
        ).status_code
        == 200
    )
    regulator = auth(client, "regulator", "reg-1")
    assert client.get(complaint, headers=regulator).get_json()["text"] == text
    keys = {
        "consumer": _key(base / "risk-vault.db", consumer_id),
        "merchant": _key(base / "merchant-vault.db", merchant_id),
    }

    erased = client.delete("/api/v1/consumers/me", headers=consumer)
    assert erased.status_code == 200, erased.get_json()
    assert client.delete("/api/v1/consumers/me", headers=consumer).status_code == 200
    for who in (regulator, merchant, consumer):
        shown = client.get(complaint, headers=who).get_json()
        assert (shown["text"], shown["response"]) == (None, None)
    again = client.post(
        "/api/v1/complaints",
        json={"merchant_id": merchant_id, "category": "other", "text": "again"},
        headers=consumer,
    )
    assert (
        again.status_code == 422 and again.get_json()["error"]["code"] == "personal_data_erased"
    ), "no new key is made for an erased consumer"

    command = subprocess.run(
        [sys.executable, "-m", "services.erasure", "merchant", merchant_id, "--amqp-uri", amqp_uri],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert command.returncode == 0, command.stdout + command.stderr
    assert json.loads(command.stdout)["erased_in"] == ["merchant"]
    assert (
        client.get(f"/api/v1/merchants/{merchant_id}", headers=merchant).get_json()["contact_phone"]
        is None
    )

    # The events reach the ledger, and then no file of the platform (event stores, vaults,
    # their write-ahead logs, the ledger, the logs) holds a plaintext or a deleted key.
    notarised = wait_until(
        lambda: _notarised(client, regulator, filed.get_json()["complaint_id"]),
        timeout=60,
        what="the complaint's events in the ledger",
    )
    assert notarised
    secrets = {
        "text": text.encode(),
        "response": answer.encode(),
        "phone": phone.encode(),
        "consumer key": keys["consumer"],
        "merchant key": keys["merchant"],
    }
    found = [
        (name, str(path.relative_to(base)))
        for path in _files(base)
        for name, secret in secrets.items()
        if secret in path.read_bytes()
    ]
    assert found == []

    verified = subprocess.run(
        [sys.executable, "-m", "ledger", "verify", "--quiet", str(base / "ledger" / "ledger.db")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def _notarised(client, regulator, complaint_id: str) -> bool:
    size = (client.get("/api/v1/ledger/checkpoint").get_json() or {}).get("size", 0)
    start, types = max(0, size - 400), set()
    while start < size:
        page = client.get(
            f"/api/v1/ledger/entries?start={start}&end={min(size, start + 400)}", headers=regulator
        ).get_json()
        for item in page["items"]:
            entry = json.loads(base64.b64decode(item["entry"]))
            if entry["event"]["stream"].endswith(complaint_id):
                types.add(entry["event"]["type"])
        start += 400
    return {"risk.ComplaintFiled.v1", "risk.ComplaintResponded.v1"} <= types
