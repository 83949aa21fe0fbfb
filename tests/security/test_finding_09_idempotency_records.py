"""Finding 9: Idempotency-Key records.

They never expired; anonymous dev-login calls added rows even in production; demo stored live
tokens in plaintext in a file created 0644; and a request marker left by a crash blocked its
key forever (409 on every retry). Now records expire (24 h by default) and are cleaned on
write, no login response is stored, the file is created 0600, and a marker older than the
stale timeout is taken over by a retry of the same request.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pika
import pytest
import requests

from services.gateway import signing_key
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from tests.support.gateway import gateway_settings
from tests.support.gateway_process import kill, start_gateway
from tests.support.harness import wait_until


def rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT scope, key, status FROM responses").fetchall()


def file_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())


class MiniProgram:
    def openid(self, code: str) -> str:
        return f"openid-{code}"


@pytest.mark.parametrize("mode", ["demo", "production"])
def test_no_login_response_is_stored(tmp_path, mode):
    if mode == "production":
        signing_key.create(tmp_path / "jwt.pem", "production")  # production makes none
    client = create_app(
        gateway_settings(tmp_path, "amqp://unused", mode=mode), code_exchange=MiniProgram()
    ).test_client()
    key = {"Idempotency-Key": "same-key"}
    tokens = []
    for _ in range(2):
        dev = client.post(
            "/api/v1/auth/dev-login", json={"role": "operator", "subject": "o"}, headers=key
        )
        assert dev.status_code == (200 if mode == "demo" else 404)
        assert "Idempotent-Replayed" not in dev.headers
        consumer = client.post("/api/v1/auth/consumer/login", json={"code": "c"}, headers=key)
        assert consumer.status_code == 200 and "Idempotent-Replayed" not in consumer.headers
        tokens += [consumer.get_json()["token"]] + (
            [dev.get_json()["token"]] if mode == "demo" else []
        )
    db = tmp_path / "idempotency.db"
    assert rows(db) == []
    stored = file_bytes(db)
    assert not any(token.encode() in stored for token in tokens)


def test_the_file_is_created_private_whatever_the_umask(tmp_path):
    previous = os.umask(0)
    try:
        create_app(gateway_settings(tmp_path / "gw", "amqp://unused"))
    finally:
        os.umask(previous)
    for name in ("idempotency.db", "rate-limits.db"):
        mode = stat.S_IMODE((tmp_path / "gw" / name).stat().st_mode)
        assert mode == 0o600, f"{name} is {oct(mode)}"


def test_records_expire_and_are_cleaned_on_write(tmp_path):
    assert GatewaySettings.from_env({"AMQP_URI": "x"}).idempotency_ttl == 24 * 3600
    client = create_app(
        gateway_settings(tmp_path, "amqp://unused", idempotency_ttl=1)
    ).test_client()
    token = client.post("/api/v1/auth/dev-login", json={"role": "consumer", "subject": "c-1"})
    consumer = {"Authorization": f"Bearer {token.get_json()['token']}"}

    def buy(key: str):
        # No service runs: the body is invalid, and the 400 is what is stored and replayed.
        return client.post("/api/v1/cards", json={}, headers={**consumer, "Idempotency-Key": key})

    for key in ("k1", "k2", "k3"):
        assert buy(key).status_code == 400
    assert buy("k1").headers.get("Idempotent-Replayed") == "true"
    assert len(rows(tmp_path / "idempotency.db")) == 3
    time.sleep(1.2)
    assert buy("k4").status_code == 400
    assert [r[1] for r in rows(tmp_path / "idempotency.db")] == ["k4"], "expired ones deleted"
    assert "Idempotent-Replayed" not in buy("k1").headers, "an expired key runs afresh"


def hold_escrow_calls(amqp_uri: str) -> None:
    """A queue for the escrow's RPCs that nobody consumes: a call waits as if the service
    were busy, so the gateway can be killed while the request is in progress."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.exchange_declare("nameko-rpc", "topic", durable=True)
    channel.queue_declare("rpc-escrow", durable=True)
    channel.queue_bind("rpc-escrow", "nameko-rpc", "escrow.*")
    connection.close()


@pytest.mark.broker
def test_a_marker_left_by_a_crash_is_taken_over_by_a_retry(tmp_path, amqp_uri):
    hold_escrow_calls(amqp_uri)
    db = tmp_path / "idempotency.db"
    first, base = start_gateway(tmp_path, amqp_uri, RPC_TIMEOUT="120")
    token = requests.post(
        f"{base}/api/v1/auth/dev-login", timeout=10, json={"role": "consumer", "subject": "c-1"}
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "buy-1"}
    purchase = {"product_id": "p-1"}

    def doomed():
        try:
            requests.post(f"{base}/api/v1/cards", json=purchase, headers=headers, timeout=60)
        except requests.RequestException:
            pass  # the gateway dies under it

    caller = threading.Thread(target=doomed, daemon=True)
    caller.start()
    wait_until(
        lambda: db.exists() and rows(db) == [("consumer:c-1", "buy-1", -1)],
        timeout=30,
        what="the request's in-progress marker",
    )
    marked_at = time.monotonic()
    kill(first)
    caller.join(timeout=30)

    second, base = start_gateway(
        tmp_path, amqp_uri, RPC_TIMEOUT="2", GATEWAY_IDEMPOTENCY_STALE_AFTER="12"
    )
    try:
        if time.monotonic() - marked_at < 10:
            early = requests.post(
                f"{base}/api/v1/cards", json=purchase, headers=headers, timeout=30
            )
            assert early.status_code == 409, "a fresh marker may belong to a live request"
        time.sleep(max(0.0, marked_at + 13 - time.monotonic()))
        other = requests.post(
            f"{base}/api/v1/cards", json={"product_id": "p-2"}, headers=headers, timeout=30
        )
        assert other.json()["error"]["code"] == "idempotency_key_reused"
        retry = requests.post(f"{base}/api/v1/cards", json=purchase, headers=headers, timeout=30)
        assert retry.status_code != 409, retry.text
        # It ran: with the escrow still not answering, an honest 503 (not stored).
        assert retry.status_code == 503 and rows(db) == []
    finally:
        kill(second)
