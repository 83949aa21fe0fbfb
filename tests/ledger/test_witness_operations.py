"""A witness has an operations port like every other process: /metrics (Prometheus text, its
requests by status and its cosigned size), /livez and /readyz, apart from its own port."""

from __future__ import annotations

import os
import subprocess
import sys

import requests
from prometheus_client.parser import text_string_to_metric_families

from devenv.ports import free_port, wait_for_port
from ledger import Ledger
from ledger.note import COSIGNATURE_V1, Checkpoint, Signer, sign_note
from ledger.witness import format_submission
from tests.support.harness import ROOT

ORIGIN = "ops.prepaid-trust.local/ledger"
NAME = "bank.test/witness"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_operations_port_counts_cosignatures_and_answers_probes(tmp_path):
    log_key = Signer.generate(ORIGIN)
    key_file = tmp_path / "w.key"
    key_file.write_text(Signer.generate(NAME, COSIGNATURE_V1).private_text() + "\n")
    key_file.chmod(0o600)
    port, ops = free_port(), free_port()
    serve = [
        sys.executable, "-m", "ledger.witness", "serve", "--name", NAME,
        "--key-file", str(key_file), "--log-vkey", log_key.verifier.vkey(),
        "--origin", ORIGIN, "--db", str(tmp_path / "state.db"), "--port", str(port),
    ]  # fmt: skip
    env = {**os.environ, "METRICS_PORT": str(ops)}
    server = subprocess.Popen(serve, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=30)
        wait_for_port(ops, timeout=30)
        base = f"http://127.0.0.1:{ops}"
        assert requests.get(f"{base}/livez", timeout=5).status_code == 200
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["status"] == "ok"
        assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 404, (
            "the checkpoint port does not show the operations"
        )

        log = Ledger.open(tmp_path / "log.db")
        try:
            log.append_batch([f"e{i}".encode() for i in range(5)])
            note = sign_note(Checkpoint(ORIGIN, 5, log.root(5)).body(), log_key)
        finally:
            log.close()
        add = f"http://127.0.0.1:{port}/add-checkpoint"
        assert requests.post(add, data=format_submission(0, [], note), timeout=5).ok
        stale = requests.post(add, data=format_submission(3, [], note), timeout=5)
        assert stale.status_code == 409

        metrics = requests.get(f"{base}/metrics", timeout=5)
        assert metrics.headers["Content-Type"].startswith("text/plain")
        found = samples(metrics.text)
        assert found[("prepaid_witness_requests_total", (("status", "200"),))] == 1
        assert found[("prepaid_witness_requests_total", (("status", "409"),))] == 1
        assert found[("prepaid_witness_request_seconds_count", (("status", "200"),))] == 1
        assert found[("prepaid_witness_cosigned_size", (("origin", ORIGIN),))] == 5
        assert found[("prepaid_witness_conflicts", (("origin", ORIGIN),))] == 0

        (tmp_path / "state.db").unlink()
        (tmp_path / "state.db").mkdir()  # the state can no longer be opened by a new thread
        not_ready = requests.get(f"{base}/readyz", timeout=5)
        assert requests.get(f"{base}/livez", timeout=5).status_code == 200
        assert not_ready.status_code == 503 and not_ready.json()["problems"]
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_non_numeric_metrics_port_is_a_usage_error_of_serve_only(tmp_path):
    """METRICS_PORT is read by `serve` as its argument, not while the parser is built: `init`
    runs whatever it says, and `serve` answers with a usage error, not a traceback."""
    key_file = tmp_path / "w.key"
    env = {**os.environ, "METRICS_PORT": "nine-thousand"}
    init = subprocess.run(
        [sys.executable, "-m", "ledger.witness", "init", "--name", NAME]
        + ["--key-file", str(key_file)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    serve = subprocess.run(
        [sys.executable, "-m", "ledger.witness", "serve", "--name", NAME,
         "--key-file", str(key_file), "--log-vkey", Signer.generate(ORIGIN).verifier.vkey(),
         "--origin", ORIGIN, "--db", str(tmp_path / "state.db")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert serve.returncode == 2 and "Traceback" not in serve.stderr, serve.stderr
    assert "--metrics-port: invalid int value: 'nine-thousand'" in serve.stderr
