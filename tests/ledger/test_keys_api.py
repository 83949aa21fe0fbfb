"""GET /api/v1/keys against a real ledger cosigned by two real witnesses and a real risk
service: a receipt is checked with nothing but that answer, the way a consumer's page does
with WebCrypto (Ed25519 and SHA-256 only; no platform code)."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from dataclasses import replace

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.bootstrap import DEFAULT_ORIGIN
from platformrun.__main__ import WITNESS_PARTIES, witness_children
from services.gateway.app import create_app
from tests.support.gateway import auth, gateway_settings
from tests.support.harness import start_nameko, start_service, stop, wait_until
from tests.support.ledger_events import payloads, publish

pytestmark = pytest.mark.broker


@pytest.fixture
def client(tmp_path, amqp_uri):
    # The launcher's own witnesses, their keys and databases under tmp_path, cosigning the
    # ledger whose log key it made there (tmp_path/ledger/keys).
    witnesses, specs = witness_children(tmp_path, dict(os.environ), tmp_path)
    processes = []
    app = create_app(gateway_settings(tmp_path, amqp_uri))
    client = app.test_client()
    try:
        for witness in witnesses:
            witness.start()
        config = {"AMQP_URI": amqp_uri, "LEDGER_DIR": str(tmp_path / "ledger"), "WITNESSES": specs}
        processes.append(start_nameko("ledger.service:LedgerService", config, tmp_path))
        processes.append(start_service("risk", tmp_path, amqp_uri))
        wait_until(
            lambda: client.get("/api/v1/keys").status_code == 200, timeout=90, what="the keys"
        )
        yield client
    finally:
        app.config["RPC_POOL"].close()
        for process in processes:
            stop(process)
        for witness in witnesses:
            witness.stop()


# --- what a browser does, with the keys alone ---------------------------------------------------
def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _verifier(vkey: str) -> dict:
    """c2sp.org/signed-note: name+hex(key id)+base64(type || Ed25519 public key)."""
    name, key_id, material = vkey.split("+", 2)
    raw = base64.b64decode(material)
    assert _sha256(name.encode() + b"\n" + raw)[:4].hex() == key_id, "the key id is the key's"
    return {"name": name, "type": raw[0], "id": bytes.fromhex(key_id), "key": raw[1:]}


def _signed_by(verifier: dict, body: str, lines: list[str]) -> bool:
    public = Ed25519PublicKey.from_public_bytes(verifier["key"])
    for line in lines:
        name, _, encoded = line.removeprefix("\u2014 ").partition(" ")
        raw = base64.b64decode(encoded)
        if name != verifier["name"] or raw[:4] != verifier["id"]:
            continue
        if verifier["type"] == 0x04:  # cosignature/v1: timestamp || signature
            (stamp,) = struct.unpack(">Q", raw[4:12])
            signature, message = raw[12:], f"cosignature/v1\ntime {stamp}\n{body}".encode()
        else:
            signature, message = raw[4:], body.encode()
        try:
            public.verify(signature, message)
            return True
        except InvalidSignature:
            continue
    return False


def _root_from_proof(leaf: bytes, index: int, size: int, proof: list[bytes]) -> bytes | None:
    """RFC 9162 section 2.1.3.2."""
    fn, sn, digest = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            digest = _sha256(b"\x01" + sibling + digest)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            digest = _sha256(b"\x01" + digest + sibling)
        fn, sn = fn >> 1, sn >> 1
    return digest if sn == 0 else None


def _verify(receipt: dict, keys: dict) -> str | None:
    """The first step that fails, or None when every step passes."""
    body, _, signatures = receipt["checkpoint"]["note"].rpartition("\n\n")
    body += "\n"
    lines = signatures.rstrip("\n").split("\n")
    origin, size, root_b64 = body.split("\n")[:3]
    log_key = _verifier(keys["log"]["vkey"])
    # The log signs as its origin with a note key (0x01): a witness's cosignature is not it.
    if (
        origin != keys["log"]["origin"]
        or (log_key["name"], log_key["type"]) != (origin, 0x01)
        or not _signed_by(log_key, body, lines)
    ):
        return "log signature"
    for witness in keys["witnesses"]:
        if witness["name"] in keys["quorum"] and not _signed_by(
            _verifier(witness["vkey"]), body, lines
        ):
            return f"cosignature of {witness['name']}"
    entry = base64.b64decode(receipt["entry"])
    leaf = _sha256(b"\x00" + entry)
    if leaf.hex() != receipt["leaf_hash"]:
        return "leaf hash"
    proof = [bytes.fromhex(h) for h in receipt["inclusion_proof"]]
    if receipt["tree_size"] != int(size) or _root_from_proof(
        leaf, receipt["index"], int(size), proof
    ) != base64.b64decode(root_b64):
        return "inclusion proof"
    return None


def test_a_receipt_verifies_with_the_published_keys_alone(client, amqp_uri, tmp_path):
    keys = client.get("/api/v1/keys")  # public: no token
    assert keys.status_code == 200
    published = keys.get_json()
    assert published["log"]["origin"] == DEFAULT_ORIGIN
    assert sorted(w["name"] for w in published["witnesses"]) == sorted(
        f"{p}.prepaid-trust.local/witness" for p in WITNESS_PARTIES
    )
    assert sorted(published["quorum"]) == sorted(w["name"] for w in published["witnesses"])
    assert _verifier(published["log"]["vkey"])["type"] == 0x01
    assert {_verifier(w["vkey"])["type"] for w in published["witnesses"]} == {0x04}

    risk_key = serialization.load_pem_private_key((tmp_path / "risk.pem").read_bytes(), None)
    raw = risk_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert published["credit_report"]["alg"] == "Ed25519"
    assert base64.b64decode(published["credit_report"]["public_key_b64"]) == raw

    # Events the risk service does not fold (it shares the broker): only the ledger cares.
    events = [replace(e, type="merchant.ProductRetired.v1", source="merchant") for e in payloads(5)]
    publish(amqp_uri, events)
    consumer = auth(client, "consumer", "c-9")  # the party the events name
    url = f"/api/v1/ledger/receipts/{events[2].event_id}"
    receipt = wait_until(
        lambda: (
            (answer := client.get(url, headers=consumer)).status_code == 200
            and answer.get_json()["tree_size"] == 5
            and answer.get_json()
        ),
        timeout=60,
        what="the receipt under a cosigned checkpoint of all five",
    )
    assert _verify(receipt, published) is None

    tampered = {**receipt, "entry": base64.b64encode(b"{}").decode()}
    assert _verify(tampered, published) == "leaf hash"
    other_log = {
        **published,
        "log": {**published["log"], "vkey": published["witnesses"][0]["vkey"]},
    }
    assert _verify(receipt, other_log) == "log signature"
    note = receipt["checkpoint"]["note"]
    forged = note.replace(note.split("\n")[1], str(int(note.split("\n")[1]) + 1), 1)
    assert _verify({**receipt, "checkpoint": {**receipt["checkpoint"], "note": forged}}, published)
