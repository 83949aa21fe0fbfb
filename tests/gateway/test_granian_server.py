"""`GATEWAY_SERVER=granian`: the gateway on granian answers as on waitress, refuses a body
over its route's limit from the headers alone, serves /metrics on its own port, and a server
name it does not know stops it at start."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import requests

from devenv.ports import free_port
from tests.support.gateway_process import gateway_env, running_gateway
from tests.support.harness import ROOT

MiB = 1024 * 1024


def _head_and_body(sock: socket.socket) -> tuple[int, dict]:
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body[body.index(b"{") : body.rindex(b"}") + 1])


def test_granian_serves_the_api_and_dev_login(tmp_path):
    with running_gateway(tmp_path, GATEWAY_SERVER="granian") as base:
        login = requests.post(
            f"{base}/api/v1/auth/dev-login",
            json={"role": "consumer", "subject": "c-1"},
            headers={"Idempotency-Key": "k-1"},
            timeout=10,
        )
        assert login.status_code == 200 and login.json()["token"]
        assert requests.get(f"{base}/api/v1/openapi.json", timeout=10).json()["openapi"]
        # A contract error from the app comes through as on waitress.
        missing = requests.get(f"{base}/api/v1/no-such-route", timeout=10)
        assert missing.status_code == 404 and missing.json()["error"]["code"]


def test_granian_refuses_a_32_mb_body_from_its_headers(tmp_path):
    with running_gateway(tmp_path, GATEWAY_SERVER="granian") as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                b"POST /api/v1/auth/dev-login HTTP/1.1\r\nHost: gateway\r\n"
                b"Content-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % (32 * MiB)
            )
            status, body = _head_and_body(sock)  # not one byte of the body was sent
    assert status == 413 and body["error"]["code"] == "request_too_large"


def test_granian_serves_metrics_on_the_operations_port(tmp_path):
    metrics_port = free_port()
    with running_gateway(
        tmp_path, GATEWAY_SERVER="granian", METRICS_PORT=str(metrics_port)
    ) as base:
        requests.get(f"{base}/api/v1/openapi.json", timeout=10)
        scraped = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
    assert scraped.status_code == 200 and "# TYPE" in scraped.text


def test_an_unknown_server_stops_the_gateway_at_start(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "services.gateway.serve"],
        cwd=ROOT,
        env=gateway_env(
            tmp_path, free_port(), "amqp://guest:guest@127.0.0.1:1/", GATEWAY_SERVER="gunicorn"
        ),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert b"GATEWAY_SERVER must be waitress or granian" in done.stderr
