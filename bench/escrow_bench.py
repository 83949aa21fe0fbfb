"""The money path under load, on one throwaway RabbitMQ node, all in this one run:

* confirmed redemptions per second through HTTP (a waitress gateway in front of the real
  merchant and escrow services) against a bare nameko RPC echo through the same kind of proxy
  pool, with the same number of concurrent clients;
* p99 confirm latency under an open-loop load at half of that rate;
* a merchant default refunding 10,000 open cards.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import requests

from devenv.rabbitmq import RabbitNode
from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import handlers
from services.gateway.rpc_pool import RpcProxyPool
from tests.messaging.harness import start_nameko, stop, wait_until

CLIENTS = 16
CONFIRMS = 3000
ECHOES = 6000
PACED_SECONDS = 10
DEFAULT_CARDS = 10_000
PRICE = 1_000   # fen: cheap cards keep each consumer under the per-merchant cap
CARDS_PER_CONSUMER = 1_500


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Api:
    """The load generator: one keep-alive http.client connection per thread, because
    `requests` costs the shared two cores more CPU per call than the gateway does."""

    def __init__(self, base: str):
        self.base = base
        self.host, self.port = base.split("//")[1].split(":")
        self.local = threading.local()

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def connection(self) -> http.client.HTTPConnection:
        if not hasattr(self.local, "connection"):
            self.local.connection = http.client.HTTPConnection(self.host, int(self.port),
                                                               timeout=120)
        return self.local.connection

    def token(self, role: str, subject: str) -> dict:
        answer = self.post("/api/v1/auth/dev-login", {"role": role, "subject": subject}, {})
        return {"Authorization": f"Bearer {answer['token']}"}

    def post(self, path: str, body: dict, headers: dict, expect=(200, 201)) -> dict:
        connection = self.connection()
        connection.request("POST", path, json.dumps(body), {
            **headers, "Idempotency-Key": uuid.uuid4().hex,
            "Content-Type": "application/json"})
        answer = connection.getresponse()
        text = answer.read()
        if answer.status not in expect:
            raise RuntimeError(f"POST {path}: {answer.status} {text[:300]!r}")
        return json.loads(text)


def _start_platform(base: Path, uri: str) -> tuple[list, str]:
    processes = [
        start_nameko("services.merchant.service:MerchantService", {
            "AMQP_URI": uri, "STORE_URL": f"sqlite:///{base / 'merchant.db'}",
            "VAULT_PATH": str(base / "vault.db")}, base),
        start_nameko("services.escrow.service:EscrowService", {
            "AMQP_URI": uri, "STORE_URL": f"sqlite:///{base / 'escrow.db'}",
            "BANK_STATEMENT_DIR": str(base / "bank")}, base),
        start_nameko("bench.echo_service:EchoService", {"AMQP_URI": uri}, base),
    ]
    port = _free_port()
    env = {**os.environ, "AMQP_URI": uri, "PORT": str(port), "RPC_POOL_SIZE": str(CLIENTS),
           "RPC_TIMEOUT": "120", "GATEWAY_JWT_KEY_FILE": str(base / "jwt.pem"),
           "GATEWAY_IDEMPOTENCY_DB": str(base / "idempotency.db")}
    log = open(base / "gateway.log", "ab")
    processes.append(subprocess.Popen([sys.executable, "-m", "services.gateway.serve"],
                                      env=env, stdout=log, stderr=subprocess.STDOUT,
                                      cwd=Path(__file__).resolve().parent.parent,
                                      start_new_session=True))
    return processes, f"http://127.0.0.1:{port}"


def _ready(api: Api) -> bool:
    try:
        consumer = api.token("consumer", "probe")
        return api.session().get(api.base + "/api/v1/merchants", timeout=5).ok and \
            api.session().get(api.base + "/api/v1/consumers/me/cards", headers=consumer,
                              timeout=5).ok
    except (requests.RequestException, OSError, http.client.HTTPException):
        api.local.__dict__.pop("connection", None)
        return False


def _prepare_holds(api: Api, count: int) -> tuple[list, str]:
    operator = api.token("operator", "bench-op")
    merchant_id = api.post("/api/v1/merchants", {
        "name": "Bench Gym", "uscc": "91350100M000100Y43", "industry": "fitness",
        "address": "1 Bench Road", "contact_phone": "13800000000"}, operator)["merchant_id"]
    api.post(f"/api/v1/merchants/{merchant_id}/approve", {}, operator)
    merchant = api.token("merchant", merchant_id)
    product = api.post(f"/api/v1/merchants/{merchant_id}/products", {
        "type": "stored_value", "name": "10 yuan", "price": PRICE, "bonus": 0,
        "validity_days": 365}, merchant)["product_id"]
    consumers = [api.token("consumer", f"bench-c{i}")
                 for i in range(count // CARDS_PER_CONSUMER + 1)]

    def one(i: int) -> tuple[str, dict]:
        owner = consumers[i // CARDS_PER_CONSUMER]
        card = api.post("/api/v1/cards", {"product_id": product}, owner)["card_id"]
        hold = api.post(f"/api/v1/cards/{card}/redemptions", {"amount": 100}, merchant)
        return hold["redemption_id"], owner

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(one, range(count))), merchant_id


def _confirm(api: Api, hold: tuple[str, dict]) -> float:
    started = time.perf_counter()
    answer = api.post(f"/api/v1/redemptions/{hold[0]}/confirm", {}, hold[1])
    if answer["status"] != "confirmed" or answer["released_amount"] != 100:
        raise RuntimeError(f"unexpected confirmation {answer}")
    return time.perf_counter() - started


def _closed_loop(work, items) -> float:
    """Items per second with CLIENTS threads each taking the next item as soon as done."""
    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(work, items))
    return len(items) / (time.perf_counter() - started)


def _echo_rate(uri: str) -> float:
    pool = RpcProxyPool(uri, size=CLIENTS, timeout=30)

    def echo(i: int) -> None:
        with pool.proxy() as proxy:
            if proxy.bench_echo.echo(i) != i:
                raise RuntimeError("echo answered wrong")

    try:
        for i in range(CLIENTS * 4):
            echo(i)   # warm the pool's connections, as the gateway's are warm
        return _closed_loop(echo, list(range(ECHOES)))
    finally:
        pool.close()


def _paced(api: Api, holds: list, rate: float) -> list[float]:
    """Open loop: requests are due at fixed intervals whatever the latency; each latency runs
    from when it was due, so a queue building up counts against it."""
    interval = 1.0 / rate
    latencies: list[float] = []
    start = time.perf_counter() + 0.2

    def due(index: int, hold) -> None:
        scheduled = start + index * interval
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        _confirm(api, hold)
        latencies.append(time.perf_counter() - scheduled)

    with ThreadPoolExecutor(CLIENTS * 4) as pool:
        for index, hold in enumerate(holds):
            pool.submit(due, index, hold)
    return latencies


def _open_cards_for_default(store_path: Path, merchant_id: str) -> int:
    """10,000 paid cards written by the escrow's own handlers straight into its store (the
    service shares the file), far faster than 10,000 purchases through HTTP."""
    store = SqliteEventStore(store_path)
    bank = SimulatedBank(store_path.parent / "bank-direct")
    policy = load_policy()

    class Product:
        def product_for_sale(self, product_id):
            return {"merchant_id": merchant_id, "type": "count", "price": PRICE * 8,
                    "bonus": 0, "uses": 8, "validity_days": 180, "period_days": 0}

    try:
        for i in range(DEFAULT_CARDS):
            handlers.purchase_card(f"bench-d{i // 200}", "p-bench", store=store,
                                   merchants=Product(), bank=bank, policy=policy,
                                   now=datetime.now(UTC))
    finally:
        store.close()
    return DEFAULT_CARDS * PRICE * 8


def _refunded_once(store_path: Path, merchant_id: str) -> tuple[int, int, int]:
    store = SqliteEventStore(store_path)
    try:
        refunds, amount, after = {}, 0, 0
        while page := store.read_all(after, 5000):
            for record in page:
                after = record.position
                if record.type == "escrow.CardRefunded.v1" and \
                        record.data["merchant_id"] == merchant_id:
                    refunds[record.data["card_id"]] = refunds.get(record.data["card_id"], 0) + 1
                    amount += record.data["refund_amount"]
        return len(refunds), max(refunds.values(), default=0), amount
    finally:
        store.close()


def run(report) -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-escrow-"))
    (base / "rabbit").mkdir()
    node = RabbitNode(base / "rabbit").start()
    processes = []
    try:
        uri = node.amqp_uri
        processes, url = _start_platform(base, uri)
        api = Api(url)
        wait_until(lambda: _ready(api), timeout=120, interval=0.5, what="the platform")
        holds, _ = _prepare_holds(api, CONFIRMS + CLIENTS * 4)
        for hold in holds[:CLIENTS * 4]:
            _confirm(api, hold)   # warm every gateway thread's proxy
        echo = _echo_rate(uri)
        confirms = _closed_loop(lambda h: _confirm(api, h), holds[CLIENTS * 4:])
        report(f"confirmed redemptions via HTTP ({CLIENTS} clients)", confirms, echo, "/s",
               target=0.6, baseline="bare nameko RPC echo, same pool size")
        paced_holds, _ = _prepare_holds(api, int(confirms / 2 * PACED_SECONDS))
        latencies = sorted(_paced(api, paced_holds, confirms / 2))
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
        report(f"  p99 confirm at {confirms / 2:,.0f}/s (half load)", p99, None, "ms",
               absolute_target=50, lower_is_better=True)
        report("  p50 confirm at half load", statistics.median(latencies) * 1000, None, "ms")

        operator, regulator = api.token("operator", "bench-op"), api.token("regulator", "r")
        merchant_id = api.post("/api/v1/merchants", {
            "name": "Vanishing Gym", "uscc": "91350100M000100Y43", "industry": "fitness",
            "address": "2 Bench Road", "contact_phone": "13800000001"}, operator)["merchant_id"]
        api.post(f"/api/v1/merchants/{merchant_id}/approve", {}, operator)
        deposited = _open_cards_for_default(base / "escrow.db", merchant_id)
        started = time.perf_counter()
        result = api.post(f"/api/v1/merchants/{merchant_id}/default",
                          {"reason": "absconded"}, regulator)
        seconds = time.perf_counter() - started
        cards, most, amount = _refunded_once(base / "escrow.db", merchant_id)
        report(f"default: {DEFAULT_CARDS:,} open cards refunded", seconds, None, "s",
               absolute_target=10, lower_is_better=True)
        exact = (result["cards_refunded"], cards, most, amount) == (
            DEFAULT_CARDS, DEFAULT_CARDS, 1, deposited)
        print(f"  each card refunded exactly once, {amount:,} fen of {deposited:,}: "
              f"{'ok' if exact else 'WRONG'}", flush=True)
        if not exact:
            report.failures.append("default refunds exactly once")
    finally:
        for process in processes:
            stop(process)
        node.stop()
