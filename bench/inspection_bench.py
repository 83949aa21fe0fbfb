"""Inspections: the verifiable 双随机 draw at city scale.

* One routine draw over 10,000 eligible merchants (tiers spread A 30%, B 40%, C 20%, D 10%,
  some white-listed or at quota) and 200 inspectors with conflicts and blocks, in process.
* The standalone CLI (`python -m services.inspection.draw`) re-run on the same inputs as anyone
  checking a published draw would: a fresh interpreter, reading the list from a file. Its time
  includes the interpreter's start and the JSON parse; the ratio is CLI / in-process draw. Its
  output must be byte-identical to the in-process draw's canonical JSON.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from services.inspection.domain.draw import TIERS, DrawRules, canonical, draw

MERCHANTS = 10_000
INSPECTORS = 200
SEED = "5e" * 32
ROOT = Path(__file__).resolve().parents[1]


def eligible_list(merchants: int = MERCHANTS, inspectors: int = INSPECTORS) -> dict:
    rnd = random.Random(14)
    ids = [f"m-{i:05d}" for i in range(merchants)]
    return {
        "kind": "routine",
        "merchants": [
            {
                "merchant_id": m,
                "tier": rnd.choices(TIERS, weights=(30, 40, 20, 10))[0],
                "white_listed": rnd.random() < 0.05,
                "at_quota": rnd.random() < 0.1,
            }
            for m in ids
        ],
        "inspectors": [
            {
                "inspector_id": f"i-{j:03d}",
                "conflicts": sorted(rnd.sample(ids, 5)),
                "blocked": sorted(rnd.sample(ids, 3)),
            }
            for j in range(inspectors)
        ],
    }


def _best(fn, runs: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - started)
    return best, out


def run(report) -> None:
    eligible, rules = eligible_list(), DrawRules()
    in_process, result = _best(lambda: draw(SEED, eligible, rules), 5)
    assert isinstance(result, dict)
    visits = sum(e["mode"] == "visit" for e in result["inspections"])
    report(
        f"draw {MERCHANTS:,} merchants, {INSPECTORS} inspectors "
        f"({len(result['inspections'])} picked, {visits} visits)",
        in_process * 1000,
        None,
        "ms",
        absolute_target=1000,
        lower_is_better=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "eligible.json"
        path.write_text(json.dumps(eligible), encoding="utf-8")
        command = [sys.executable, "-m", "services.inspection.draw", "--seed", SEED]
        cli, run_ = _best(
            lambda: subprocess.run(
                [*command, "--eligible", str(path)], cwd=ROOT, capture_output=True, check=True
            ),
            3,
        )
    assert isinstance(run_, subprocess.CompletedProcess)
    report(
        "the standalone CLI re-run on the same inputs",
        cli * 1000,
        in_process * 1000,
        "ms",
        baseline="the in-process draw",
        absolute_target=1000,
        lower_is_better=True,
    )
    if run_.stdout != canonical(result) + b"\n":
        report.failures.append("inspection: the CLI's output differs from the draw's")
