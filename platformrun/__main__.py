"""`make run`: the whole platform on one machine, with embedded SQLite stores under ./var.

Starts a local RabbitMQ node (its data kept in var/rabbitmq; queues from an older version are
migrated to the policy's arguments first: platformrun.migrate_queues), then per service its
outbox relay and its nameko process, then the gateway; prints the URL once /healthz is green. A
child that dies is restarted. Ctrl-C (or SIGTERM) stops everything, the broker last; a second
Ctrl-C kills everything at once.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from devenv.ports import free_port
from devenv.rabbitmq import RabbitNode
from platformrun.registry import EVENT_SOURCED, SERVICE_CLASSES

log = logging.getLogger("platform")
WITNESS_PARTIES = ("bank", "regulator")
ROOT = Path(__file__).resolve().parents[1]
METRICS_TARGETS = "metrics-targets.json"
"""Under var/: each process's /metrics URL, by process name."""


class StopNow(BaseException):
    """Raised by the second Ctrl-C: stop at once, without waiting for anything.

    A BaseException, so that no `except Exception` on the way (a retried health check) can
    swallow it."""


class StopSignals:
    """Counts SIGINT and SIGTERM.

    The handler only adds and raises: it takes no lock. (`threading.Event.set()` takes one,
    so a second signal arriving while the first was being handled could deadlock on it.)
    """

    def __init__(self) -> None:
        self.count = 0

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handle)

    def _handle(self, signum, frame) -> None:
        self.count += 1
        if self.count == 2:
            raise StopNow

    def wait(self, seconds: float) -> bool:
        """Sleeps up to `seconds`; True once a stop was asked for."""
        deadline = time.monotonic() + seconds
        while not self.count and time.monotonic() < deadline:
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
        return bool(self.count)


class Child:
    def __init__(self, name: str, args: list[str], env: dict, log_dir: Path):
        self.name, self.args, self.env, self.log_path = name, args, env, log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.restarts = 0

    def start(self) -> None:
        out = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.args,
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def exit_code(self) -> int | None:
        """The child's exit status once it has exited; None while it runs or before it starts."""
        return self.process.poll() if self.process else None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL to the child's whole process group (it runs in a session of its own)."""
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()


def _port(preferred: int) -> int:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            return free_port()


def _nameko(name: str, path: str, config: dict, data: Path, env: dict, log_dir: Path) -> Child:
    config_file = data / "nameko.yaml"
    config_file.write_text(json.dumps(config))  # JSON is YAML, which is what nameko reads
    return Child(
        name,
        [sys.executable, "-m", "nameko", "run", "--config", str(config_file), path],
        env,
        log_dir,
    )


def witness_children(var: Path, env: dict, log_dir: Path) -> tuple[list[Child], list[dict]]:
    """The bank's and the regulator's witnesses, each with its own key, for the local demo."""
    from ledger.bootstrap import DEFAULT_ORIGIN, load_or_create_log_key

    log_vkey = load_or_create_log_key(var / "ledger" / "keys", DEFAULT_ORIGIN).verifier.vkey()
    children, specs = [], []
    for party in WITNESS_PARTIES:
        name = f"{party}.prepaid-trust.local/witness"
        data = var / f"witness-{party}"
        data.mkdir(parents=True, exist_ok=True)
        key_file = data / "witness.key"
        vkey = (
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "ledger.witness",
                    "init",
                    "--name",
                    name,
                    "--key-file",
                    str(key_file),
                ],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        port = free_port()
        children.append(
            Child(
                f"witness-{party}",
                [
                    sys.executable,
                    "-m",
                    "ledger.witness",
                    "serve",
                    "--name",
                    name,
                    "--key-file",
                    str(key_file),
                    "--log-vkey",
                    log_vkey,
                    "--origin",
                    DEFAULT_ORIGIN,
                    "--db",
                    str(data / "state.db"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                env,
                log_dir,
            )
        )
        specs.append({"name": name, "url": f"http://127.0.0.1:{port}", "vkey": vkey})
    return children, specs


def migrate_queues(amqp_uri: str) -> None:
    """The broker's data is kept across runs: queues declared by an older version (classic
    ones, before quorum queues) are brought to the policy's arguments before anything that
    declares them starts (platformrun.migrate_queues); it exits non-zero if it cannot."""
    subprocess.run(
        [sys.executable, "-m", "platformrun.migrate_queues", "--amqp-uri", amqp_uri],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        timeout=300,
    )


def build_children(var: Path, amqp_uri: str, http_port: int) -> list[Child]:
    # Every process reads the demo clock's offset, so simulated days pass for all at once.
    # `make run` is the demo platform, chosen here explicitly: the code's default is production.
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "AMQP_URI": amqp_uri,
        "PLATFORM_CLOCK_FILE": str(var / "clock.json"),
        "PLATFORM_MODE": "demo",
    }
    log_dir = var / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    children = []
    metrics: dict[str, str] = {}

    def metrics_port(name: str) -> int:
        port = free_port()
        metrics[name] = f"http://127.0.0.1:{port}/metrics"
        return port

    for service in EVENT_SOURCED:
        data = var / service
        data.mkdir(parents=True, exist_ok=True)
        store_url = f"sqlite:///{data / 'events.db'}"
        # The relay declares the queues of the platform's handlers for this service's events.
        children.append(
            Child(
                f"{service}-relay",
                [
                    sys.executable,
                    "-m",
                    "platformrun.relay",
                    "--service",
                    service,
                    "--store-url",
                    store_url,
                    "--amqp-uri",
                    amqp_uri,
                    "--metrics-port",
                    str(metrics_port(f"{service}-relay")),
                ],
                env,
                log_dir,
            )
        )
        children.append(
            _nameko(
                service,
                SERVICE_CLASSES[service],
                {
                    "AMQP_URI": amqp_uri,
                    "STORE_URL": store_url,
                    "VAULT_PATH": str(data / "vault.db"),
                    "RISK_SIGNING_KEY": str(data / "signing.pem"),
                    "INSPECTION_SIGNING_KEY": str(data / "signing.pem"),
                    "BANK_STATEMENT_DIR": str(var / "bank" / "statements"),
                    "BANK_ADAPTER": "simulated",
                    "METRICS_PORT": metrics_port(service),
                },
                data,
                env,
                log_dir,
            )
        )
    witnesses, specs = witness_children(var, env, log_dir)
    children += witnesses
    children.append(
        _nameko(
            "ledger",
            SERVICE_CLASSES["ledger"],
            {
                "AMQP_URI": amqp_uri,
                "LEDGER_DIR": str(var / "ledger"),
                "WITNESSES": specs,
                "max_workers": 50,
                "METRICS_PORT": metrics_port("ledger"),
            },
            var / "ledger",
            env,
            log_dir,
        )
    )
    gateway_env = {
        **env,
        "PORT": str(http_port),
        "METRICS_PORT": str(metrics_port("gateway")),
        "GATEWAY_JWT_KEY_FILE": str(var / "gateway" / "jwt-ed25519.pem"),
        "GATEWAY_IDEMPOTENCY_DB": str(var / "gateway" / "idempotency.db"),
        "GATEWAY_REVOCATION_DB": str(var / "gateway" / "revoked.db"),
    }
    children.append(
        Child("gateway", [sys.executable, "-m", "services.gateway.serve"], gateway_env, log_dir)
    )
    # Where Prometheus (or a curl) finds each process's /metrics; /livez and /readyz beside.
    (var / METRICS_TARGETS).write_text(json.dumps(metrics, indent=2) + "\n")
    return children


def wait_healthy(url: str, timeout: float = 90.0, stop: StopSignals | None = None) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline and not (stop and stop.count):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last = exc
            time.sleep(0.5)
    if stop and stop.count:
        return {}  # Ctrl-C during start-up: the caller stops, nothing to report
    raise RuntimeError(f"{url} not healthy after {timeout}s: {last}")


def supervise(children: list[Child], signals: StopSignals) -> None:
    """Restarts a child that dies, until a stop is asked for."""
    while not signals.wait(1.0):
        for child in children:
            if (code := child.exit_code()) is not None:
                child.restarts += 1
                log.warning(
                    "%s exited with %s; restarting (see %s)", child.name, code, child.log_path
                )
                child.start()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    var = Path(os.environ.get("PLATFORM_VAR", ROOT / "var")).resolve()
    http_port = int(os.environ.get("PORT", "8000"))
    signals = StopSignals()
    signals.install()

    log.info("starting RabbitMQ (data in %s)", var / "rabbitmq")
    node = RabbitNode(var / "rabbitmq", node_name="prepaid@localhost", amqp_port=_port(5672))
    children: list[Child] = []
    try:
        try:
            node.start()
            migrate_queues(node.amqp_uri)
            children += build_children(var, node.amqp_uri, http_port)
            for child in children:
                child.start()
            url = f"http://127.0.0.1:{http_port}"
            health = wait_healthy(f"{url}/healthz", stop=signals)
            if not signals.count:
                print(
                    f"\nPlatform is up: {url}   (health: {url}/healthz, status {health['status']})"
                )
                print(
                    f"Pages: {url}/ (directory)   {url}/app/ (consumer)   "
                    f"{url}/merchant/ (merchant)   {url}/login (log in)"
                )
                print(
                    f"RabbitMQ: {node.amqp_uri}   logs: {var / 'log'}   "
                    f"metrics: {var / METRICS_TARGETS}   Ctrl-C stops everything.\n",
                    flush=True,
                )
            supervise(children, signals)
        finally:
            if signals.count < 2:
                log.info("stopping (Ctrl-C again to kill everything at once)")
                for child in reversed(children):
                    child.stop()
                node.stop()
                log.info("stopped")
    except StopNow:
        log.warning("second signal: killing every process now")
        for child in children:
            child.kill()
        node.kill()
        log.warning("killed")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
