"""The platform's children (platformrun/processes.py) keep their secrets off the command line
and out of world-readable files, and starting one leaves no file open in the parent."""

from __future__ import annotations

import gc
import os
import stat
import sys
import warnings

from platformrun.processes import Child, nameko_child, relay_child

AMQP = "amqp://platform:broker-secret@127.0.0.1:5672/"
STORE = "postgresql://escrow:db-secret@127.0.0.1:5432/platform?schema=escrow"


def test_a_relays_urls_are_in_its_environment_not_its_command_line(tmp_path):
    child = relay_child("escrow-relay", "escrow", STORE, AMQP, 9100, {"PATH": "/bin"}, tmp_path)
    assert not [arg for arg in child.args if "secret" in arg], child.args  # ps shows argv
    assert child.env["AMQP_URI"] == AMQP and child.env["STORE_URL"] == STORE


def test_a_services_nameko_config_is_readable_by_its_owner_only(tmp_path):
    nameko_child("escrow", "services.x:X", {"AMQP_URI": AMQP}, tmp_path, {}, tmp_path)
    mode = stat.S_IMODE((tmp_path / "nameko.yaml").stat().st_mode)
    assert mode == 0o600, oct(mode)


def test_starting_a_child_closes_its_log_file_in_the_parent(tmp_path):
    # Left to the garbage collector, the parent's copy is closed late (or, in a cycle, never),
    # which Python reports as an unclosed file.
    child = Child("quick", [sys.executable, "-c", "print('hi')"], dict(os.environ), tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        child.start()
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], caught
    assert child.process is not None and child.process.wait(timeout=30) == 0
    assert (tmp_path / "quick.log").read_text() == "hi\n"
