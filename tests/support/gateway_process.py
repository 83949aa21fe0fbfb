"""The gateway as production runs it (`python -m services.gateway.serve`, waitress) on a free
loopback port, with its files in a test's directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import requests

from devenv.ports import free_port
from tests.support.harness import ROOT, wait_until


def gateway_env(workdir: Path, port: int, amqp_uri: str, **extra: str) -> dict:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "AMQP_URI": amqp_uri,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PLATFORM_MODE": "demo",
        "GATEWAY_JWT_KEY_FILE": str(workdir / "jwt.pem"),
        "GATEWAY_IDEMPOTENCY_DB": str(workdir / "idempotency.db"),
        **extra,
    }


def start_gateway(
    workdir: Path, amqp_uri: str = "amqp://guest:guest@127.0.0.1:1/", **extra: str
) -> tuple[subprocess.Popen, str]:
    """The process and its base URL, once it answers."""
    port = free_port()
    log = open(workdir / f"gateway-{port}.log", "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.gateway.serve"],
        cwd=ROOT,
        env=gateway_env(workdir, port, amqp_uri, **extra),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the gateway exited: {Path(log.name).read_text()}")
        try:
            return requests.get(f"{base}/api/v1/openapi.json", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_until(answers, timeout=30, what="the gateway to answer")
    return process, base


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@contextmanager
def running_gateway(workdir: Path, **extra: str):
    process, base = start_gateway(workdir, **extra)
    try:
        yield base
    finally:
        kill(process)
