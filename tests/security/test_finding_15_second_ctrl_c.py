"""Finding 15: `make run` hung on a second Ctrl-C.

The launcher's signal handler called `threading.Event.set()`, which takes a lock: a second
signal while the first was being handled could deadlock on it, and in any case the second
Ctrl-C only asked again for the graceful stop that was already under way. A second Ctrl-C must
stop everything at once: every child and the broker are killed, and the launcher exits 130.
"""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from tests.support.harness import start_platform, wait_until

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _processes() -> list[tuple[int, int, int]]:
    out = subprocess.run(["ps", "-eo", "pid,ppid,pgid,stat"], capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines()[1:]:
        pid, ppid, pgid, stat = line.split()[:4]
        if not stat.startswith("Z"):
            rows.append((int(pid), int(ppid), int(pgid)))
    return rows


def test_a_second_ctrl_c_kills_every_process_at_once(tmp_path):
    launcher, _url = start_platform(tmp_path)
    groups: set[int] = set()
    try:
        # Every child runs in a process group of its own (start_new_session), so the groups
        # name the children and everything they started.
        groups |= {pid for pid, ppid, _ in _processes() if ppid == launcher.pid}
        # RabbitMQ, 4 services, 4 relays, the ledger, 2 witnesses and the gateway.
        assert len(groups) == 13

        launcher.send_signal(signal.SIGINT)
        wait_until(
            lambda: "stopping" in (tmp_path / "run.out").read_text(),
            timeout=10,
            what="the graceful stop to begin",
        )
        launcher.send_signal(signal.SIGINT)

        assert launcher.wait(timeout=30) == 130, (tmp_path / "run.out").read_text()
        assert "killing every process now" in (tmp_path / "run.out").read_text()
        wait_until(
            lambda: not [p for p, _, g in _processes() if g in groups],
            timeout=10,
            what="every child's process group to be gone",
        )
    finally:
        if launcher.poll() is None:
            launcher.kill()
        for pid, _, pgid in _processes():
            if pgid in groups:
                os.kill(pid, signal.SIGKILL)
