"""`make demo`: a synthetic city driven through the real API of a running demo platform.

`python -m platformrun.simulator --url http://host:port [--merchants N] [--consumers N]
[--days N] [--seed N]`; exit status 0 when every shop got the code it deserves, 1 when one did
not, 2 when the run is refused (too short, too small) or no platform answers.
"""

from __future__ import annotations

import argparse
import http.client
import sys

from platformrun.simulator.api import Api, ApiError
from platformrun.simulator.city import City
from platformrun.simulator.story import MIN_CONSUMERS_PER_MERCHANT, MIN_MERCHANTS, Storyline


def _platform_answers(api: Api) -> bool:
    try:
        api.get("/healthz")
        return True
    except (ApiError, OSError, http.client.HTTPException):
        return False


def _too_small(args) -> str | None:
    """Why the run cannot tell the story, or None."""
    try:
        Storyline.for_days(args.days)
    except ValueError as exc:
        return str(exc)
    if args.merchants < MIN_MERCHANTS:
        return (
            f"--merchants {args.merchants} is too few: the story needs Golden Gym, Quick "
            f"Wash and at least one healthy shop ({MIN_MERCHANTS})"
        )
    if args.consumers < MIN_CONSUMERS_PER_MERCHANT * args.merchants:
        return (
            f"--consumers {args.consumers} is too few for {args.merchants} merchants: at "
            f"least {MIN_CONSUMERS_PER_MERCHANT} per merchant "
            f"({MIN_CONSUMERS_PER_MERCHANT * args.merchants}), so that Quick Wash has "
            "card holders to complain"
        )
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m platformrun.simulator", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--merchants", type=int, default=300)
    parser.add_argument("--consumers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    too_small = _too_small(args)
    if too_small:
        parser.error(too_small)  # exits with status 2 before anything is done
    api = Api(args.url)
    if not _platform_answers(api):
        print(
            f"no healthy platform at {args.url}: start it with `make run` (another terminal)",
            file=sys.stderr,
        )
        return 2
    city = City(api, args.merchants, args.consumers, args.days, args.seed)
    try:
        city.run()
        return 0 if city.summary() else 1
    finally:
        city.pool.shutdown()
