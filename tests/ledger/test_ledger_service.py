"""The ledger service against a real RabbitMQ: every event once, however often it arrives."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from ledger import merkle
from ledger.entry import parse_entry
from ledger.note import Verifier, verified_by
from tests.support.harness import wait_until
from tests.support.ledger_events import payloads, publish

pytestmark = pytest.mark.broker


def test_redelivered_events_leave_exactly_one_entry_each(ledger_service, amqp_uri, tmp_path):
    events = payloads(60)
    for _ in range(3):
        publish(amqp_uri, events)
    wait_until(lambda: ledger_service.ledger.health()["size"] >= 60, what="60 entries")
    publish(amqp_uri, events[:5])  # and once more, after they are all in

    marker = payloads(1)
    publish(amqp_uri, marker)
    wait_until(lambda: ledger_service.ledger.receipt(marker[0].event_id), what="the marker")
    assert ledger_service.ledger.health()["size"] == 61

    entries = ledger_service.ledger.entries(0, 100)
    ids = [parse_entry(base64.b64decode(e["entry"]))["event"]["id"] for e in entries]
    assert sorted(ids) == sorted(e.event_id for e in events + marker)
    body = parse_entry(base64.b64decode(entries[0]["entry"]))
    assert "q83v" not in json.dumps(body), "personal fields only as a hash"
    assert body["personal_hash"] and body["amounts"]["amount"] >= 1000


def test_receipt_verifies_against_the_signed_checkpoint(ledger_service, amqp_uri, tmp_path):
    events = payloads(10)
    publish(amqp_uri, events)
    receipt = wait_until(
        lambda: ledger_service.ledger.receipt(events[7].event_id), what="a receipt"
    )
    entry = base64.b64decode(receipt["entry"])
    assert parse_entry(entry)["event"]["id"] == events[7].event_id
    assert receipt["leaf_hash"] == merkle.leaf_hash(entry).hex()
    checkpoint = receipt["checkpoint"]
    assert receipt["tree_size"] == checkpoint["size"]
    assert merkle.verify_inclusion(
        bytes.fromhex(receipt["leaf_hash"]),
        receipt["index"],
        receipt["tree_size"],
        [bytes.fromhex(h) for h in receipt["inclusion_proof"]],
        bytes.fromhex(checkpoint["root_hash"]),
    )
    log_key = Verifier.from_vkey((tmp_path / "ledger" / "keys" / "log.vkey").read_text())
    assert verified_by(checkpoint["note"], [log_key]) == {log_key.name}
    assert checkpoint["signatures"][0]["signer"] == log_key.name
    assert ledger_service.ledger.receipt(str(uuid.uuid4())) is None
