"""The deployment files stay true to the code: `deploy/check.py` needs no Docker or cluster."""

from __future__ import annotations

import subprocess
import sys

from tests.support.harness import ROOT


def test_deploy_files_match_the_code():
    done = subprocess.run(
        [sys.executable, "deploy/check.py"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all checks passed" in done.stdout
