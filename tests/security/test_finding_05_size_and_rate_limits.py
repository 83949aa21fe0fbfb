"""Finding 5: no size or rate limits.

A 32 MB anonymous body was read and parsed, 150 logins in a row all succeeded, and 110 idle
connections made the gateway stop answering. Now: bodies over 64 KB are refused with 413
before they are read (by Flask per route; waitress stops reading at the largest route limit,
5 MB for evidence files, spooling anything over 512 KB to disk rather than memory); logins,
dev-login, complaints and purchases are rate limited (Flask-Limiter) with counters in SQL
that replicas share; waitress keeps up to a thousand connections and closes silent ones.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from flask import Blueprint, jsonify, request
from limits import RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from services.gateway.app import create_app
from services.gateway.body_limits import body_limit
from services.gateway.settings import GatewaySettings
from tests.support.gateway import gateway_settings
from tests.support.gateway_process import running_gateway
from tests.support.gateway_state import migrated_gateway_url

MiB = 1024 * 1024
LARGEST = GatewaySettings.max_evidence_body
"""The largest body any route takes (an evidence file): what waitress reads at the most."""


def read_response(sock: socket.socket, timeout: float = 10) -> tuple[int, dict]:
    """Status and JSON body of the one response on `sock` (the server closes after it)."""
    sock.settimeout(timeout)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = [
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ]
        if length and len(body) >= length[0]:
            break
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


def connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


# --- body size ----------------------------------------------------------------------------


def test_a_32_mb_body_is_refused_before_a_byte_of_it_is_read(tmp_path):
    with running_gateway(tmp_path) as base, connect(base) as sock:
        sock.sendall(
            b"POST /api/v1/auth/dev-login HTTP/1.1\r\nHost: gateway\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (32 * MiB)
        )
        # Not one byte of the body is sent: the answer must come from the headers alone.
        status, body = read_response(sock)
    assert status == 413
    assert body["error"]["code"] == "request_too_large"
    # Refused by waitress at the largest limit of any route (evidence files, 5 MB): it stops
    # before reading; a body under that but over the route's own 64 KB is Flask's 413 below.
    assert body["error"]["details"] == {"limit_bytes": LARGEST}


def test_a_chunked_body_without_content_length_is_cut_off_at_the_limit(tmp_path):
    chunk = b"x" * 8192
    with running_gateway(tmp_path) as base, connect(base) as sock:
        sock.sendall(
            b"POST /api/v1/auth/dev-login HTTP/1.1\r\nHost: gateway\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        try:
            for _ in range((LARGEST + MiB) // len(chunk)):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass  # the server stopped reading and closed: what we want
        status, body = read_response(sock)
    assert status == 413 and body["error"]["code"] == "request_too_large"


def test_flask_refuses_an_oversized_body_by_route_and_a_route_may_allow_more(tmp_path):
    app = create_app(gateway_settings(tmp_path, "amqp://unused"))
    evidence = Blueprint("evidence_test", __name__)

    @evidence.post("/test/evidence")
    @body_limit(lambda settings: 4 * settings.max_json_body)
    def upload():
        return jsonify({"received": len(request.get_data())})

    app.register_blueprint(evidence)
    client = app.test_client()
    big = json.dumps({"role": "consumer", "subject": "x" * (70 * 1024)})
    answer = client.post(
        "/api/v1/auth/dev-login", data=big, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert answer.get_json()["error"] == {
        "code": "request_too_large",
        "message": answer.get_json()["error"]["message"],
        "details": {"limit_bytes": 64 * 1024},
    }
    # Without Content-Length (a chunked body, as waitress hands it on), while reading.
    streamed = client.post(
        "/api/v1/auth/dev-login",
        input_stream=io.BytesIO(big.encode()),
        headers={"Content-Type": "application/json"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert streamed.status_code == 413, streamed.get_data()
    assert client.post("/test/evidence", data=b"e" * (200 * 1024)).get_json() == {
        "received": 200 * 1024
    }
    refused = client.post("/test/evidence", data=b"e" * (300 * 1024))
    assert refused.status_code == 413
    assert refused.get_json()["error"]["details"] == {"limit_bytes": 256 * 1024}


# --- rate limits ----------------------------------------------------------------------------


class MiniProgram:
    """WeChat's code exchange, the one outside party of a consumer login: any code is good."""

    def openid(self, code: str) -> str:
        return f"openid-{code}"


def test_150_logins_in_a_row_from_one_address_are_throttled(tmp_path):
    client = create_app(
        gateway_settings(tmp_path, "amqp://unused"), code_exchange=MiniProgram()
    ).test_client()
    url = "/api/v1/auth/consumer/login"
    answers = [client.post(url, json={"code": f"code-{i}"}) for i in range(150)]
    statuses = [a.status_code for a in answers]
    assert statuses == [200] * 30 + [429] * 120, "30 per minute per address by default"
    refused = answers[-1]
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert 0 <= int(refused.headers["Retry-After"]) <= 60
    # The budget is the address's, across the three production logins (these two are not
    # provisioned here, so they would answer 404).
    for path in ("staff/login", "device/token"):
        answer = client.post(f"/api/v1/auth/{path}", json={})
        assert answer.status_code == 429, path
        assert answer.get_json()["error"]["code"] == "rate_limited"
    other = client.post(
        url, json={"code": "good-code"}, environ_overrides={"REMOTE_ADDR": "192.0.2.7"}
    )
    assert other.status_code == 200, "another address has its own budget"


def dev_login(client, subject: str = "c-1", **kwargs):
    return client.post(
        "/api/v1/auth/dev-login", json={"role": "consumer", "subject": subject}, **kwargs
    )


def test_dev_login_is_throttled_per_address(tmp_path):
    client = create_app(
        gateway_settings(tmp_path, "amqp://unused", dev_login_rate_limit="5 per minute")
    ).test_client()
    assert [dev_login(client).status_code for _ in range(7)] == [200] * 5 + [429] * 2
    assert dev_login(client, environ_overrides={"REMOTE_ADDR": "192.0.2.8"}).status_code == 200


def test_purchases_and_complaints_are_throttled_per_consumer(tmp_path):
    # No service runs: the bodies are invalid (400), and each attempt still counts.
    client = create_app(gateway_settings(tmp_path, "amqp://unused")).test_client()
    one, other = (
        {"Authorization": f"Bearer {dev_login(client, s).get_json()['token']}"}
        for s in ("c-1", "c-2")
    )
    purchases = [client.post("/api/v1/cards", json={}, headers=one).status_code for _ in range(11)]
    assert purchases == [400] * 10 + [429], "10 purchases a minute by default"
    assert client.post("/api/v1/cards", json={}, headers=other).status_code == 400
    complaints = [
        client.post("/api/v1/complaints", json={}, headers=one).status_code for _ in range(6)
    ]
    assert complaints == [400] * 5 + [429], "5 complaints an hour by default"
    assert client.post("/api/v1/complaints", json={}, headers=other).status_code == 400
    refused = client.post("/api/v1/complaints", json={}, headers=one)
    assert refused.get_json()["error"]["code"] == "rate_limited" and refused.headers["Retry-After"]


def test_the_limits_are_documented_and_checked_at_start(tmp_path):
    app = create_app(gateway_settings(tmp_path, "amqp://unused"))
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/cards", "/api/v1/complaints", "/api/v1/auth/consumer/login"):
        assert {"413", "429"} <= set(paths[path]["post"]["responses"]), path
    assert "429" not in paths["/api/v1/cards/{card_id}/refund"]["post"]["responses"]
    with pytest.raises(ValueError, match="purchases rate limit"):
        create_app(
            gateway_settings(tmp_path / "bad", "amqp://unused", purchase_rate_limit="ten a minute")
        )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def storage_uri(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared-limits.db'}"
    # Migrated by the owner, used by a role that cannot CREATE (tests/support/gateway_state.py).
    return migrated_gateway_url(request.getfixturevalue("pg_dsn"))


def test_two_gateways_sharing_the_storage_share_the_count(tmp_path, storage_uri):
    apps = [
        create_app(
            gateway_settings(
                tmp_path / name,
                "amqp://unused",
                rate_limit_storage=storage_uri,
                dev_login_rate_limit="6 per minute",
            )
        )
        for name in ("a", "b")
    ]
    clients = [app.test_client() for app in apps]
    statuses = [dev_login(clients[i % 2]).status_code for i in range(10)]
    assert statuses == [200] * 6 + [429] * 4


def test_the_sql_storage_counts_atomically_and_windows_end(storage_uri):
    storage = storage_from_string(storage_uri)
    limiter = FixedWindowRateLimiter(storage)
    per_minute = RateLimitItemPerMinute(100)
    with ThreadPoolExecutor(8) as pool:
        allowed = list(pool.map(lambda _: limiter.hit(per_minute, "racer"), range(120)))
    assert allowed.count(True) == 100, "every concurrent hit is counted once"
    assert storage.get(per_minute.key_for("racer")) == 120
    assert limiter.get_window_stats(per_minute, "racer").remaining == 0
    assert time.time() < storage.get_expiry(per_minute.key_for("racer")) <= time.time() + 60

    per_second = RateLimitItemPerSecond(2)
    assert [limiter.hit(per_second, "short") for _ in range(3)] == [True, True, False]
    time.sleep(1.1)
    assert limiter.hit(per_second, "short"), "a new window starts when the last has ended"
    assert storage.get(per_second.key_for("short")) == 1

    storage.clear(per_minute.key_for("racer"))
    assert limiter.hit(per_minute, "racer") and storage.check()
    assert storage.reset() >= 2 and storage.get(per_minute.key_for("racer")) == 0
    storage.close()


# --- slow and idle clients ------------------------------------------------------------------


def test_idle_and_slow_clients_do_not_stop_the_gateway_and_idle_ones_are_closed(tmp_path):
    idle_count, slow_count = 200, 30
    with running_gateway(
        tmp_path, GATEWAY_CHANNEL_TIMEOUT="3", GATEWAY_CLEANUP_INTERVAL="1"
    ) as base:
        idle = [connect(base) for _ in range(idle_count)]
        slow = [connect(base) for _ in range(slow_count)]
        for sock in slow:
            sock.sendall(b"POST /api/v1/auth/dev-login HTTP/1.1\r\nHost: gateway\r\n")
        stop = threading.Event()

        def drip():  # slow loris: one more header byte per second, for a bounded time
            for _ in range(8):
                if stop.wait(1):
                    return
                for sock in slow:
                    try:
                        sock.sendall(b"X")
                    except OSError:
                        pass

        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        try:
            started = time.monotonic()
            answer = requests.get(f"{base}/api/v1/openapi.json", timeout=5)
            assert answer.status_code == 200
            assert time.monotonic() - started < 5
            token = requests.post(
                f"{base}/api/v1/auth/dev-login",
                timeout=5,
                json={"role": "consumer", "subject": "c-1"},
            )
            assert token.status_code == 200, token.text

            def closed_by_server(sock: socket.socket) -> bool:
                sock.settimeout(0.01)
                try:
                    return sock.recv(1) == b""
                except TimeoutError:
                    return False
                except OSError:
                    return True

            deadline = time.monotonic() + 20
            open_idle = list(idle)
            while open_idle and time.monotonic() < deadline:
                open_idle = [s for s in open_idle if not closed_by_server(s)]
                time.sleep(0.2)
            assert not open_idle, f"{len(open_idle)} idle connections still open"
        finally:
            stop.set()
            dripper.join(timeout=5)
            for sock in idle + slow:
                sock.close()
