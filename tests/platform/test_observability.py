"""Metrics, probes and JSON logs on real processes: the gateway (waitress), the merchant,
escrow and risk services and the escrow's relay, over the test's RabbitMQ.

Each `/metrics` is parsed with Prometheus's own text parser; the named series exist and move
(a request counts, a confirmed spend moves the escrow's money), and a correlation id given as
`X-Request-Id` is in the JSON log lines of the gateway, of the services the RPC reached and
of an event handler that handled the event the request recorded."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from devenv.ports import free_port
from tests.support.gateway_process import kill, start_gateway
from tests.support.harness import start_relay, start_service, stop, store_url, wait_until
from tests.support.merchants import PHONE, onboard

pytestmark = pytest.mark.broker


class HttpClient:
    """The Flask test client's calls (`post(url, json=, headers=)`, `.get_json()`) over
    HTTP, so the support helpers drive the gateway process."""

    def __init__(self, base: str) -> None:
        self.base = base

    def get(self, path: str, headers: dict | None = None):
        return _Answer(requests.get(self.base + path, headers=headers, timeout=30))

    def post(self, path: str, json: dict | None = None, headers: dict | None = None):
        return _Answer(requests.post(self.base + path, json=json, headers=headers, timeout=30))


class _Answer:
    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self.status_code = response.status_code
        self.headers = response.headers

    def get_json(self):
        return self.response.json()


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value}, parsed by Prometheus's text parser."""
    text = requests.get(url, timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= set(found))


def names(samples: dict) -> set[str]:
    return {name for name, _ in samples}


def log_lines(path: Path) -> list[dict]:
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def auth(client, role: str, subject: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/dev-login", json={"role": role, "subject": subject})
    return {"Authorization": f"Bearer {token.get_json()['token']}"}


@pytest.fixture
def platform(tmp_path, amqp_uri):
    ports = {name: free_port() for name in ("merchant", "escrow", "risk", "escrow-relay")}
    processes = [
        start_service(name, tmp_path, amqp_uri, METRICS_PORT=ports[name])
        for name in ("merchant", "escrow", "risk")
    ]
    processes.append(
        start_relay(
            "escrow",
            store_url(tmp_path, "escrow"),
            amqp_uri,
            tmp_path,
            extra_args=("--metrics-port", str(ports["escrow-relay"])),
        )
    )
    gateway_metrics = free_port()
    gateway, base = start_gateway(
        tmp_path, amqp_uri, LOG_FORMAT="json", METRICS_PORT=str(gateway_metrics)
    )
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    try:
        wait_until(
            lambda: all(_ready(url) for url in urls.values()),
            timeout=120,
            what="the services' and the relay's /readyz",
        )
        yield {**urls, "gateway": base, "gateway-ops": f"http://127.0.0.1:{gateway_metrics}"}
    finally:
        kill(gateway)
        for process in processes:
            stop(process)


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/readyz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def test_metrics_probes_and_correlated_json_logs(platform, tmp_path):
    client = HttpClient(platform["gateway"])
    for url in platform.values():
        live = requests.get(f"{url}/livez", timeout=5)
        assert live.status_code == 200 and live.json()["status"] == "ok", url
    # The gateway is ready when every service answers: the inspection and the ledger are
    # not running here.
    ready = requests.get(f"{platform['gateway']}/readyz", timeout=30)
    assert ready.status_code == 503
    assert {p.split(":")[0] for p in ready.json()["problems"]} == {"inspection", "ledger"}

    # The gateway: a request counts under its route, not its path.
    before = scrape(f"{platform['gateway-ops']}/metrics")
    merchant_id = onboard(client)
    after = scrape(f"{platform['gateway-ops']}/metrics")
    route = "/api/v1/merchants/<merchant_id>/approve"
    counted = dict(endpoint=route, method="POST", status="200")
    assert value(after, "prepaid_http_requests_total", **counted) == (
        value(before, "prepaid_http_requests_total", **counted) + 1
    )
    assert value(after, "prepaid_http_request_seconds_count", **counted) >= 1
    assert not any(merchant_id in str(labels) for _, labels in after), "no raw path as label"
    assert value(after, "prepaid_gateway_rpc_seconds_count", service="merchant") >= 2

    # A purchase under a correlation id, then a confirmed spend.
    merchant = auth(client, "merchant", merchant_id)
    product = client.post(
        f"/api/v1/merchants/{merchant_id}/products",
        json={
            "type": "count",
            "name": "10 lessons",
            "price": 80_000,
            "uses": 10,
            "validity_days": 180,
        },
        headers=merchant,
    ).get_json()["product_id"]
    owner = auth(client, "consumer", "c-metrics")
    escrow_metrics = f"{platform['escrow']}/metrics"
    money_before = scrape(escrow_metrics)
    request_id = f"obs-{uuid.uuid4().hex[:12]}"
    bought = client.post(
        "/api/v1/cards",
        json={"product_id": product},
        headers={**owner, "X-Request-Id": request_id},
    )
    assert bought.status_code == 201 and bought.headers["X-Request-Id"] == request_id
    card_id = bought.get_json()["card_id"]
    held = scrape(escrow_metrics)
    money = "prepaid_escrow_money_fen"
    assert value(held, money, state="held") == value(money_before, money, state="held") + 80_000
    assert value(held, "prepaid_escrow_cards", state="issued") == 1

    hold = client.post(f"/api/v1/cards/{card_id}/redemptions", json={"uses": 3}, headers=merchant)
    rid = hold.get_json()["redemption_id"]
    confirmed = client.post(f"/api/v1/redemptions/{rid}/confirm", headers=owner).get_json()
    assert confirmed["released_amount"] == 24_000
    spent = scrape(escrow_metrics)
    assert value(spent, money, state="held") == value(held, money, state="held") - 24_000
    assert value(spent, money, state="released") == value(held, money, state="released") + 24_000
    rpc = "prepaid_rpc_handler_seconds_count"
    # nameko sends an RPC's reply before its dependencies see the worker's result: the count
    # follows the reply by a moment.
    wait_until(
        lambda: (
            value(
                scrape(escrow_metrics),
                rpc,
                service="escrow",
                method="confirm_redemption",
                outcome="ok",
            )
            >= 1
        ),
        10,
        what="the confirmation's RPC counted",
    )

    # The relay published the purchase; risk handled it under the request's id.
    risk_log = tmp_path / "service:RiskService.log"
    wait_until(
        lambda: any(
            line.get("correlation_id") == request_id and line["message"].startswith("event ")
            for line in log_lines(risk_log)
        ),
        timeout=60,
        what="risk's event handler to log the purchase's correlation id",
    )
    relay = scrape(f"{platform['escrow-relay']}/metrics")
    assert value(relay, "prepaid_relay_published_events_total", relay="escrow") >= 3
    assert {"prepaid_relay_lag_events", "prepaid_relay_parked_events"} <= names(relay)
    queue = (("queue", "evt-escrow-#--risk.on_escrow_event"),)
    assert ("prepaid_queue_messages", queue) in relay, "the queue's depth, by a passive declare"
    assert relay[("prepaid_queue_consumers", queue)] == 1, "risk consumes it"
    risk = scrape(f"{platform['risk']}/metrics")
    assert value(risk, "prepaid_event_handler_seconds_count", service="risk", outcome="ok") >= 1

    gateway_lines = log_lines(next(tmp_path.glob("gateway-*.log")))
    escrow_lines = log_lines(tmp_path / "service:EscrowService.log")
    merchant_lines = log_lines(tmp_path / "service:MerchantService.log")
    for process, lines in (
        ("gateway", gateway_lines),
        ("escrow", escrow_lines),
        ("merchant", merchant_lines),
    ):
        mine = [line for line in lines if line.get("correlation_id") == request_id]
        assert mine, f"{process} logged nothing under {request_id}"
        assert {"time", "level", "logger", "message", "service"} <= set(mine[0])
    assert any(
        "rpc escrow.purchase ok" in line["message"]
        for line in escrow_lines
        if line.get("correlation_id") == request_id
    )

    # Personal data never reaches a log: the merchant's contact phone was in its application.
    for path in tmp_path.glob("*.log"):
        assert PHONE not in path.read_text(), path.name
