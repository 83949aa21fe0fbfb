"""Inspections: the verifiable 双随机 draw at city scale.

* One routine draw over 10,000 eligible merchants (tiers spread A 30%, B 40%, C 20%, D 10%,
  some white-listed or at quota) and 200 inspectors with conflicts and blocks, in process.
* The standalone CLI (`python -m services.inspection.draw`) re-run on the same inputs as anyone
  checking a published draw would: a fresh interpreter, reading the list from a file. Its time
  includes the interpreter's start and the JSON parse; the ratio is CLI / in-process draw. Its
  output must be byte-identical to the in-process draw's canonical JSON.
* Classify 10,000 merchants: a SQLite store fed a few events per merchant through the
  classification projection (application, approval, a deposit, a code change or two, some
  with a complaint or a refund; reported as events observed per second), then one
  `reclassify_all` a year later, timed (target < 5 s).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from services.inspection.application import classifications
from services.inspection.domain.draw import TIERS, DrawRules, canonical, draw
from services.inspection.domain.rules import InspectionRules

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


def merchant_events(merchants: int = MERCHANTS) -> list[tuple[str, dict, datetime]]:
    """A few events per merchant, in time order, spread over the first days of 2025."""
    rnd = random.Random(14)
    start = datetime(2025, 1, 6, 9, 0)
    industries = ("education", "fitness", "beauty", "catering", "retail", "other")
    events: list[tuple[str, dict, datetime]] = []
    for i in range(merchants):
        m = f"m-{i:05d}"
        at = start + timedelta(minutes=i)
        events += [
            (
                "merchant.MerchantApplied.v1",
                {"merchant_id": m, "industry": rnd.choice(industries)},
                at,
            ),
            ("merchant.MerchantApproved.v1", {"merchant_id": m}, at),
            (
                "risk.HealthCodeChanged.v1",
                {"merchant_id": m, "code": "green", "evaluated_at": at.isoformat()},
                at,
            ),
            (
                "escrow.DepositConfirmed.v1",
                {
                    "merchant_id": m,
                    "card_id": f"c-{i}",
                    "payment_id": f"p-{i}",
                    "amount": rnd.randrange(1, 80_000_000),
                    "upfront_amount": 0,
                },
                at,
            ),
        ]
        later = at + timedelta(days=rnd.randrange(1, 200))
        roll = rnd.random()
        if roll < 0.1:
            events.append(
                (
                    "risk.HealthCodeChanged.v1",
                    {"merchant_id": m, "code": "red", "evaluated_at": later.isoformat()},
                    later,
                )
            )
        elif roll < 0.3:
            events.append(
                (
                    "risk.HealthCodeChanged.v1",
                    {"merchant_id": m, "code": "yellow", "evaluated_at": later.isoformat()},
                    later,
                )
            )
        elif roll < 0.4:
            events.append(
                (
                    "risk.ComplaintFiled.v1",
                    {"merchant_id": m, "complaint_id": f"k-{i}", "filed_at": later.isoformat()},
                    later,
                )
            )
    return sorted(events, key=lambda e: e[2])


def classify_city(report) -> None:
    rules = InspectionRules.from_policy(load_policy().inspection)
    events = merchant_events()
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteEventStore(Path(tmp) / "inspection.db")
        try:
            started = time.perf_counter()
            for i in range(0, len(events), 500):
                with store.unit_of_work() as uow:
                    for event_type, data, at in events[i : i + 500]:
                        classifications.observe(uow, event_type, data, at, rules)
            observed = time.perf_counter() - started
            report(
                f"classification: events observed ({len(events):,})",
                len(events) / observed,
                None,
                "events/s",
            )
            a_year_on = datetime(2026, 1, 6, 9, 0)
            started = time.perf_counter()
            done = classifications.reclassify_all(store, rules, a_year_on)
            took = time.perf_counter() - started
        finally:
            store.close()
    report(
        f"classify {done['merchants']:,} merchants ({done['changed']:,} changed)",
        took,
        None,
        "s",
        absolute_target=5,
        lower_is_better=True,
    )


def run(report) -> None:
    classify_city(report)
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
