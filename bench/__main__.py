"""`make bench`: every figure measured side by side with its baseline in this one run."""

from __future__ import annotations

import argparse
import platform
import sys

SUITES = {
    "eventstore": "bench.eventstore_bench",
    "relay": "bench.relay_bench",
    "ledger": "bench.ledger_bench",
    "escrow": "bench.escrow_bench",
    "scaleout": "bench.scaleout_bench",
    "risk": "bench.risk_bench",
    "city": "bench.city_bench",
    "alerts": "bench.alerts_bench",
    "schedule": "bench.schedule_bench",
    "pages": "bench.pages_bench",
    "inspection": "bench.inspection_bench",
}


class Report:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def __call__(
        self,
        name,
        value,
        baseline_value,
        unit,
        *,
        target=None,
        baseline=None,
        absolute_target=None,
        lower_is_better=False,
    ):
        line = f"{name:<48} {value:>12,.1f} {unit}"
        if baseline_value is not None:
            ratio = value / baseline_value
            line += f"   vs {baseline_value:,.1f} ({baseline}): ratio {ratio:.2f}"
            if target is not None:
                ok = ratio >= target
                line += f" [target >= {target}: {'ok' if ok else 'MISSED'}]"
                if not ok:
                    self.failures.append(name)
        if absolute_target is not None:
            ok = value <= absolute_target if lower_is_better else value >= absolute_target
            sign = "<" if lower_is_better else ">="
            line += f"   [target {sign} {absolute_target:,}: {'ok' if ok else 'MISSED'}]"
            if not ok:
                self.failures.append(name)
        print(line, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("suites", nargs="*", help=f"any of {sorted(SUITES)}; default: all")
    args = parser.parse_args()
    args.suites = args.suites or list(SUITES)
    unknown = set(args.suites) - set(SUITES)
    if unknown:
        parser.error(f"unknown suite(s): {sorted(unknown)}")
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{platform.node()}; suites: {', '.join(args.suites)}\n"
    )
    report = Report()
    import importlib

    for suite in args.suites:
        importlib.import_module(SUITES[suite]).run(report)
    if report.failures:
        print(f"\nmissed targets: {', '.join(report.failures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
