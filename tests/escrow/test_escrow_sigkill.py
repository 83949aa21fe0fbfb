"""The escrow service killed with SIGKILL in the middle of confirmations, then restarted on
the same store: every hold is released exactly once, and every client gets one answer."""
from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from eventstore.sqlite import SqliteEventStore
from services.gateway.app import create_app
from tests.conftest import gateway_settings
from tests.merchant.test_merchant_api import auth, onboard
from tests.messaging.harness import start_nameko, stop, wait_until

pytestmark = pytest.mark.broker

HOLDS = 240
CLIENTS = 8
KILL_AFTER = 60


def escrow(tmp_path, amqp_uri):
    return start_nameko("services.escrow.service:EscrowService", {
        "AMQP_URI": amqp_uri, "STORE_URL": f"sqlite:///{tmp_path / 'escrow.db'}",
        "BANK_STATEMENT_DIR": str(tmp_path / "bank")}, tmp_path)


def test_sigkill_mid_confirms_loses_nothing_and_doubles_nothing(tmp_path, amqp_uri):
    merchant_service = start_nameko("services.merchant.service:MerchantService", {
        "AMQP_URI": amqp_uri, "STORE_URL": f"sqlite:///{tmp_path / 'merchant.db'}",
        "VAULT_PATH": str(tmp_path / "vault.db")}, tmp_path)
    processes = {"escrow": escrow(tmp_path, amqp_uri)}
    app = create_app(gateway_settings(tmp_path, amqp_uri, rpc_timeout=30.0,
                                      rpc_pool_size=CLIENTS))
    client = app.test_client()
    try:
        owner = auth(client, "consumer", "c-owner")
        wait_until(lambda: client.get("/api/v1/consumers/me/cards", headers=owner).status_code
                   == 200 and client.get("/api/v1/merchants").status_code == 200, timeout=60,
                   what="the services")
        merchant_id = onboard(client)
        merchant = auth(client, "merchant", merchant_id)
        product = client.post(f"/api/v1/merchants/{merchant_id}/products", json={
            "type": "stored_value", "name": "10", "price": 1_000, "bonus": 0,
            "validity_days": 30}, headers=merchant).get_json()["product_id"]
        holds = []
        for _ in range(HOLDS):
            card = client.post("/api/v1/cards", json={"product_id": product},
                               headers=owner).get_json()["card_id"]
            holds.append(client.post(f"/api/v1/cards/{card}/redemptions", json={"amount": 100},
                                     headers=merchant).get_json()["redemption_id"])

        answers, finished_at = {}, {}
        done = threading.Semaphore(0)

        def confirm(redemption_id: str) -> None:
            headers = {**owner, "Idempotency-Key": f"confirm-{redemption_id}"}
            while True:   # as a real client does: retry until there is an answer
                response = client.post(f"/api/v1/redemptions/{redemption_id}/confirm",
                                       headers=headers)
                if response.status_code == 200:
                    answers[redemption_id] = response.get_json()
                    finished_at[redemption_id] = time.monotonic()
                    done.release()
                    return
                assert response.status_code in (409, 503), response.get_json()
                time.sleep(0.2)

        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(confirm, rid) for rid in holds]
            for _ in range(KILL_AFTER):
                done.acquire(timeout=60)
            os.kill(processes["escrow"].pid, signal.SIGKILL)
            processes["escrow"].wait(10)
            killed_at = time.monotonic()
            time.sleep(1)
            processes["escrow"] = escrow(tmp_path, amqp_uri)
            for future in futures:
                future.result(timeout=180)

        before = sum(at < killed_at for at in finished_at.values())
        print(f"confirmed before the kill: {before}, after: {HOLDS - before}")
        assert KILL_AFTER <= before < HOLDS, "the kill landed in the middle"
        assert len(answers) == HOLDS
        assert {a["status"] for a in answers.values()} == {"confirmed"}
        assert {a["released_amount"] for a in answers.values()} == {100}

        stop(processes.pop("escrow"))
        store = SqliteEventStore(tmp_path / "escrow.db")
        try:
            records = [r for page in iter(lambda a=[0]: _page(store, a), []) for r in page]
        finally:
            store.close()
        confirmed = [r for r in records if r.type == "escrow.RedemptionConfirmed.v1"]
        per_hold = Counter(r.data["redemption_id"] for r in confirmed)
        assert set(per_hold) == set(holds) and set(per_hold.values()) == {1}, \
            "each hold released exactly once"
        assert {r.data["redemption_id"]: r.id for r in confirmed} == {
            rid: answer["event_id"] for rid, answer in answers.items()}, \
            "every client was told the id of the one release"
        deposits = sum(r.data["amount"] for r in records
                       if r.type == "escrow.DepositConfirmed.v1")
        released = sum(r.data["released_amount"] for r in confirmed)
        assert (deposits, released) == (HOLDS * 1_000, HOLDS * 100)
    finally:
        app.config["RPC_POOL"].close()
        for process in (*processes.values(), merchant_service):
            stop(process)


def _page(store, after: list) -> list:
    page = store.read_all(after[0], 1000)
    if page:
        after[0] = page[-1].position
    return page
