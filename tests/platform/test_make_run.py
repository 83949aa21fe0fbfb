"""`make run`'s launcher, end to end: every dependency green, then a clean Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from eventstore import NewEvent
from eventstore.sqlite import SqliteEventStore
from tests.support.harness import ROOT, start_platform, wait_until

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid,ppid"], capture_output=True, text=True).stdout
    return [int(p) for p, pp in (line.split() for line in out.splitlines()[1:]) if int(pp) == pid]


def test_platform_starts_reports_healthy_and_stops_cleanly(tmp_path):
    launcher, url = start_platform(tmp_path)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        children = _children_of(launcher.pid)
        assert len(children) == 13, (
            "RabbitMQ, 4 services, 4 relays, the ledger, 2 witnesses and the gateway"
        )

        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:
            assert response.status == 200
            health = json.loads(response.read())
        assert health["status"] == "ok"
        assert set(health["dependencies"]) == {
            "rabbitmq",
            "merchant",
            "escrow",
            "risk",
            "inspection",
            "ledger",
        }
        assert all(d["status"] == "ok" for d in health["dependencies"].values())
        assert health["dependencies"]["escrow"]["relay_lag"] == 0
        assert (tmp_path / "var" / "escrow" / "events.db").exists()

        # An event stored by escrow travels: relay -> RabbitMQ -> ledger -> both witnesses.
        store = SqliteEventStore(tmp_path / "var" / "escrow" / "events.db")
        store.append(
            "card-1",
            [NewEvent("escrow.DepositConfirmed.v1", {"card_id": "card-1", "amount": 10_000})],
            0,
        )
        store.close()

        def published():
            try:
                with urllib.request.urlopen(f"{url}/api/v1/ledger/checkpoint", timeout=5) as r:
                    return json.loads(r.read())
            except urllib.error.HTTPError:
                return None

        checkpoint = wait_until(published, timeout=60, what="a witnessed checkpoint")
        assert checkpoint["size"] == 1
        assert {s["signer"] for s in checkpoint["signatures"]} == {
            "prepaid-trust.local/ledger",
            "bank.prepaid-trust.local/witness",
            "regulator.prepaid-trust.local/witness",
        }
        verify = subprocess.run(
            [
                sys.executable,
                "-m",
                "ledger",
                "verify",
                str(tmp_path / "var" / "ledger" / "ledger.db"),
                "--quiet",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr

        # Every process but the broker has an operations port listed for Prometheus, the
        # witnesses' included, and each answers /metrics in the text format.
        targets = json.loads((tmp_path / "var" / "metrics-targets.json").read_text())
        assert set(targets) == {
            *(
                f"{s}{kind}"
                for s in ("merchant", "escrow", "risk", "inspection")
                for kind in ("", "-relay")
            ),
            "ledger",
            "gateway",
            "witness-bank",
            "witness-regulator",
        }
        for name, target in targets.items():
            with urllib.request.urlopen(target, timeout=10) as response:
                assert response.status == 200, name
                assert b"# TYPE " in response.read(), name

        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(timeout=60) == 0
        time.sleep(0.5)
        alive = [
            pid
            for pid in children
            if os.path.exists(f"/proc/{pid}")
            and "Z" not in open(f"/proc/{pid}/stat").read().split()[2]
        ]
        assert alive == [], "every child stops with the launcher"
    finally:
        if launcher.poll() is None:
            launcher.kill()
