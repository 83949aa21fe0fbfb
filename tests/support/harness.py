"""Real processes for tests and benches: nameko services, relays, the platform, a gateway."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def _env() -> dict:
    env = dict(os.environ)
    # The code's default is production; the tests' and benches' platforms are demo ones (the
    # simulated bank), unless a test sets PLATFORM_MODE itself.
    env.setdefault("PLATFORM_MODE", "demo")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_nameko(module: str, config: dict, workdir: Path) -> subprocess.Popen:
    # JSON is valid YAML, and nameko reads its config file as YAML.
    config_path = workdir / f"{module.rsplit('.', 1)[-1]}.yaml"
    config_path.write_text(json.dumps(config))
    log = open(workdir / f"{module.rsplit('.', 1)[-1]}.log", "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "nameko", "run", "--config", str(config_path), module],
        cwd=ROOT,
        env=_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


PLATFORM_SERVICES = {
    "merchant": (
        "services.merchant.service:MerchantService",
        lambda d: {"VAULT_PATH": str(d / "merchant-vault.db")},
    ),
    "escrow": (
        "services.escrow.service:EscrowService",
        lambda d: {"BANK_STATEMENT_DIR": str(d / "bank"), "BANK_ADAPTER": "simulated"},
    ),
    "risk": (
        "services.risk.service:RiskService",
        lambda d: {"VAULT_PATH": str(d / "risk-vault.db"), "RISK_SIGNING_KEY": str(d / "risk.pem")},
    ),
    "inspection": (
        "services.inspection.service:InspectionService",
        lambda d: {"INSPECTION_SIGNING_KEY": str(d / "inspection.pem")},
    ),
}


def store_url(workdir: Path, service: str) -> str:
    return f"sqlite:///{workdir / f'{service}.db'}"


def start_service(service: str, workdir: Path, amqp_uri: str, **config) -> subprocess.Popen:
    """One of the platform's nameko services with its files under `workdir`: its store at
    `store_url(workdir, service)`, and `config` over the defaults."""
    module, files = PLATFORM_SERVICES[service]
    return start_nameko(
        module,
        {
            "AMQP_URI": amqp_uri,
            "STORE_URL": store_url(workdir, service),
            **files(workdir),
            **config,
        },
        workdir,
    )


def start_relay(
    service: str,
    store_url: str,
    amqp_uri: str,
    workdir: Path,
    bindings=(),
    extra_env: dict | None = None,
    extra_args: tuple = (),
) -> subprocess.Popen:
    from messaging.topology import format_binding

    args = [
        sys.executable,
        "-m",
        "platformrun.relay",
        "--service",
        service,
        "--store-url",
        store_url,
        "--amqp-uri",
        amqp_uri,
    ]
    for binding in bindings:
        args += ["--bind", format_binding(binding)]
    args += list(extra_args)
    log = open(workdir / f"relay-{service}.log", "ab")
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env={**_env(), **(extra_env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen, timeout: float = 20.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def start_platform(tmp_path: Path) -> tuple[subprocess.Popen, str]:
    """`make run`'s launcher on a free port with its data under `tmp_path/var`; returns the
    launcher and the URL its banner printed."""
    import re

    from devenv.ports import free_port

    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "PLATFORM_VAR": str(tmp_path / "var"),
        "PYTHONUNBUFFERED": "1",
    }
    out = open(tmp_path / "run.out", "w+")
    launcher = subprocess.Popen(
        [sys.executable, "-m", "platformrun"],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    banner = wait_until(
        lambda: re.search(r"Platform is up: (http://\S+)", (tmp_path / "run.out").read_text()),
        timeout=120,
        what="the launcher's banner",
    )
    return launcher, banner.group(1)


@contextmanager
def merchant_and_escrow_gateway(tmp_path: Path, amqp_uri: str, **settings):
    """The real merchant and escrow services and a gateway app in front of them; yields its
    test client once both services answer (a purchase before escrow is up would be a 503)."""
    from services.gateway.app import create_app
    from tests.support.gateway import gateway_settings

    services = [start_service(name, tmp_path, amqp_uri) for name in ("merchant", "escrow")]
    app = create_app(gateway_settings(tmp_path, amqp_uri, **settings))
    client = app.test_client()
    try:
        token = client.post(
            "/api/v1/auth/dev-login", json={"role": "consumer", "subject": "c-probe"}
        ).get_json()["token"]
        probe = {"Authorization": f"Bearer {token}"}
        wait_until(
            lambda: (
                client.get("/api/v1/merchants").status_code == 200
                and client.get("/api/v1/consumers/me/cards", headers=probe).status_code == 200
            ),
            timeout=120,  # two nameko processes starting on a loaded two-core machine
            what="the merchant and escrow services",
        )
        yield client
    finally:
        app.config["RPC_POOL"].close()
        for service in services:
            stop(service)
