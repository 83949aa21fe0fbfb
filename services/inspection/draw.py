"""Re-run a published inspection draw: `python -m services.inspection.draw --seed SEED
--eligible FILE [--shares A=5,B=20,C=60,D=100] [--periods 4] [--kind routine|special]`.

FILE holds the plan's `eligible` as JSON (`-` reads standard input); the platform's lists carry
their own rules (shares, periods, modes, inspectors per visit), which the flags may not change.
Prints the canonical JSON of `{"inspections": [...], "unstaffed": [...]}` and a newline; exits
2 on bad input. Needs only the standard library and this package's domain module.
"""

from __future__ import annotations

import argparse
import json
import sys

from services.domain_errors import InvalidInput
from services.inspection.domain.draw import TIERS, DrawRules, canonical, draw

DEFAULTS = DrawRules()


def _shares(text: str) -> dict[str, int]:
    shares = dict(DEFAULTS.shares)
    for part in filter(None, text.split(",")):
        tier, _, value = part.partition("=")
        if tier.strip() not in TIERS or not value.strip().isdigit():
            raise argparse.ArgumentTypeError(f"not TIER=PERCENT: {part!r}")
        shares[tier.strip()] = int(value)
    return shares


def _no_floats(text: str) -> object:
    raise ValueError(f"floats are not allowed in the eligible list: {text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.inspection.draw", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seed", required=True, help="the published seed, 64 lowercase hex")
    parser.add_argument("--eligible", required=True, help="the eligible list as JSON, or -")
    default_shares = ",".join(f"{t}={DEFAULTS.shares[t]}" for t in TIERS)
    parser.add_argument(
        "--shares",
        type=_shares,
        default=None,
        help=f"percent per tier and year, for a list without its own rules (default "
        f"{default_shares})",
    )
    parser.add_argument(
        "--periods",
        type=int,
        default=None,
        help=f"plan periods a year, for a list without its own rules (default {DEFAULTS.periods})",
    )
    parser.add_argument(
        "--kind",
        choices=("routine", "special"),
        default=None,
        help="the plan's kind (default: the list's \"kind\", else routine)",
    )
    args = parser.parse_args(argv)
    try:
        if args.eligible == "-":
            eligible = json.load(sys.stdin, parse_float=_no_floats, parse_constant=_no_floats)
        else:
            with open(args.eligible, encoding="utf-8") as file:
                eligible = json.load(file, parse_float=_no_floats, parse_constant=_no_floats)
        given = None
        if args.shares is not None or args.periods is not None:
            given = DrawRules(
                shares=args.shares or dict(DEFAULTS.shares),
                periods=DEFAULTS.periods if args.periods is None else args.periods,
            )
        result = draw(args.seed, eligible, given, kind=args.kind)
    except (OSError, ValueError, InvalidInput) as error:
        print(f"draw: {getattr(error, 'message', error)}", file=sys.stderr)
        return 2
    sys.stdout.buffer.write(canonical(result) + b"\n")
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
