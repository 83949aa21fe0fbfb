"""The launchers' shared parts (`make run`, `make run-cluster`): child processes that are
restarted when they die, stop signals, the witnesses, the queue migration and health waits."""

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
from devenv.secret_files import write_secret

log = logging.getLogger("platform")
WITNESS_PARTIES = ("bank", "regulator")
ROOT = Path(__file__).resolve().parents[1]


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
        with open(self.log_path, "ab") as out:  # the child keeps its own copy of the fd
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


def preferred_port(preferred: int) -> int:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            return free_port()


def nameko_child(name: str, path: str, config: dict, data: Path, env: dict, log_dir: Path) -> Child:
    config_file = data / "nameko.yaml"
    # JSON is YAML, which is what nameko reads; owner-only, as it holds AMQP_URI's password.
    write_secret(config_file, json.dumps(config))
    return Child(
        name,
        [sys.executable, "-m", "nameko", "run", "--config", str(config_file), path],
        env,
        log_dir,
    )


def witness_children(
    var: Path, env: dict, log_dir: Path, metrics: MetricsTargets | None = None
) -> tuple[list[Child], list[dict]]:
    """The bank's and the regulator's witnesses, each with its own key, for the local demo;
    each with an operations port (/metrics, /livez, /readyz) listed in `metrics` when given."""
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
                    "--metrics-port",
                    str(metrics.port(f"witness-{party}") if metrics else 0),
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


def platform_env(var: Path, amqp_uri: str) -> dict:
    """Every child's environment. Every process reads the demo clock's offset, so simulated
    days pass for all at once. The local launchers run the demo platform, chosen here
    explicitly: the code's default is production."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "AMQP_URI": amqp_uri,
        "PLATFORM_CLOCK_FILE": str(var / "clock.json"),
        "PLATFORM_MODE": "demo",
    }


class MetricsTargets:
    """Each process's /metrics URL by process name (/livez and /readyz beside), written to a
    file where Prometheus (or a curl) finds them."""

    def __init__(self) -> None:
        self.urls: dict[str, str] = {}

    def port(self, name: str) -> int:
        port = free_port()
        self.urls[name] = f"http://127.0.0.1:{port}/metrics"
        return port

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.urls, indent=2) + "\n")


def relay_child(
    name: str,
    service: str,
    store_url: str,
    amqp_uri: str,
    metrics_port: int,
    env: dict,
    log_dir: Path,
    *extra: str,
) -> Child:
    """One service's outbox relay (platformrun.relay), which declares the queues of the
    platform's handlers for this service's events. The URLs go in its environment (STORE_URL,
    AMQP_URI), not on its command line, which any user of the machine can read (ps)."""
    args = ["--service", service, "--metrics-port", str(metrics_port), *extra]
    child_env = {**env, "STORE_URL": store_url, "AMQP_URI": amqp_uri}
    return Child(name, [sys.executable, "-m", "platformrun.relay", *args], child_env, log_dir)


def gateway_child(name: str, env: dict, log_dir: Path, **settings: str) -> Child:
    """`python -m services.gateway.serve` with its settings (PORT, METRICS_PORT, GATEWAY_*)."""
    return Child(
        name, [sys.executable, "-m", "services.gateway.serve"], {**env, **settings}, log_dir
    )
