"""`make load`: a city's confirm load against a running demo platform, at a chosen size.

The city: 10,000 merchants, 1,000,000 consumers, a peak of 200 confirms a second. `--scale`
shrinks the merchants and consumers (and the default rate) to what the machine holds:
`--scale 0.01` is 100 merchants and 10,000 consumers at 2 confirms/s; `--rate` sets the peak
apart (`make load LOAD_ARGS="--scale 0.01 --rate 40"`).

The driver never holds the consumers: consumer n's id, shop and card product are derived from
n, and only a working set of regulars (`--regulars`, those visiting in this window, each with
its token and one card) is kept, as a real peak hour has. Each visit is a merchant's hold and
its owner's confirm; a share of visits (`--newcomers`) is a consumer from the whole population
signing in and buying a card first, who then replaces a random regular. Visits are sent open
loop at the peak rate for `--seconds`, whatever the answers, and each confirm's latency runs
from its scheduled time, so a queue anywhere counts against it.

Prints the rate reached, confirm p50/p99, and every refusal by code. Exit status 0 when the
rate held within 5 % and nothing failed, 1 otherwise, 2 when no platform answers.

On a real cluster: point `--url` at the Ingress (http:// or https://; an https URL is checked
against the system's CA certificates), `--scale 1`, run one driver per 50-100
confirms/s (each its own `--seed`, so their consumers differ) from hosts outside the cluster,
and raise the demo gateway's `GATEWAY_DEV_LOGIN_RATE_LIMIT` (3,000/min per address by default)
so that seeding 10,000 merchants and the newcomers' sign-ins are not throttled.

A newcomer is drawn from the consumers not signed up yet in this run: one drawn twice would buy
a second card at its shop, which the consumer's cap there may refuse (consumer_cap_exceeded).
"""

from __future__ import annotations

import argparse
import math
import queue
import random
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from platformrun.simulator.api import Api, ApiError
from platformrun.simulator.city import INDUSTRIES, PRODUCTS
from services.merchant.domain.uscc import ALPHABET, check_character

CITY_MERCHANTS, CITY_CONSUMERS, CITY_PEAK = 10_000, 1_000_000, 200.0
SPEND = 100  # fen per visit: a 550-yuan stored-value card lasts 5,500 visits
WORKER_SECONDS = 0.5
"""Workers: the visits due in this long (a visit is two requests), so an answer slower than
that still leaves workers free for the visits scheduled behind it."""
WORKERS_MIN, WORKERS_MAX = 8, 256
Regular = tuple[str, str, int, dict]
"""A consumer in the working set: its id, its card, its shop's index, its token's headers."""


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] if ordered else 0.0


@dataclass(frozen=True)
class Profile:
    merchants: int
    consumers: int
    rate: float
    seconds: float
    regulars: int
    newcomers: float
    seed: int

    @classmethod
    def scaled(cls, scale: float, **given) -> Profile:
        sized = {
            "merchants": max(1, round(CITY_MERCHANTS * scale)),
            "consumers": max(1, round(CITY_CONSUMERS * scale)),
            "rate": CITY_PEAK * scale,
        }
        return cls(**{**sized, **{k: v for k, v in given.items() if v is not None}})


def workers_for(rate: float) -> int:
    """Threads sending the visits at `rate` per second, open loop."""
    return max(WORKERS_MIN, min(WORKERS_MAX, math.ceil(rate * WORKER_SECONDS)))


def uscc(number: int, seed: int) -> str:
    """A valid USCC of its own for shop `number` of run `seed`."""
    number, body = number + seed * 10**7 + 1, ""
    for _ in range(13):
        number, digit = divmod(number, len(ALPHABET))
        body = ALPHABET[digit] + body
    first17 = "9137" + body
    return first17 + check_character(first17)


class CityLoad:
    def __init__(self, api: Api, profile: Profile, workers: int | None = None):
        self.api, self.profile = api, profile
        self.products: list[tuple[str, str]] = []  # (merchant_id, stored-value product)
        self.regulars: list[Regular] = []
        self.counts: Counter = Counter()
        self.latencies: list[float] = []
        self.lock = threading.Lock()
        self.random = random.Random(profile.seed)
        self.workers = workers or workers_for(profile.rate)
        self.signed_up: set[int] = set()
        """Consumers with a card from this run (a few thousand numbers, not the population)."""

    # --- the population, derived ---------------------------------------------------------
    def consumer_id(self, n: int) -> str:
        return f"city-{self.profile.seed}-c{n}"

    def shop_of(self, n: int) -> int:
        """Consumer n's shop: spread over all merchants, the same for n in every run."""
        return (n * 7919) % len(self.products)

    # --- seeding -------------------------------------------------------------------------
    def open_shop(self, number: int) -> tuple[str, str]:
        made = self.api.post(
            "/api/v1/merchants",
            {
                "name": f"City shop {number}",
                "uscc": uscc(number, self.profile.seed),
                "industry": INDUSTRIES[number % len(INDUSTRIES)],
                "address": "Weihai",
                "contact_phone": "138" + str(number).zfill(8)[-8:],
            },
            "operator",
            "op-load",
        )
        merchant_id = made["merchant_id"]
        self.api.post(f"/api/v1/merchants/{merchant_id}/approve", {}, "operator", "op-load-2")
        product = self.api.post(
            f"/api/v1/merchants/{merchant_id}/products",
            PRODUCTS["stored_value"],
            "merchant",
            merchant_id,
        )["product_id"]
        return merchant_id, product

    def sign_up(self, n: int) -> Regular:
        """Consumer n signs in and buys a card at its shop: a regular from now on. Its token is
        not kept by the Api's cache: 1,000,000 of them would be."""
        consumer = self.consumer_id(n)
        shop = self.shop_of(n)
        headers = self.api.login("consumer", consumer)
        card = self.api.post_as(headers, "/api/v1/cards", {"product_id": self.products[shop][1]})
        return consumer, card["card_id"], shop, headers

    def seed(self) -> None:
        with ThreadPoolExecutor(16) as pool:
            self.products = list(pool.map(self.open_shop, range(self.profile.merchants)))
            chosen = self.random.sample(range(self.profile.consumers), self.profile.regulars)
            self.signed_up.update(chosen)
            self.regulars = list(pool.map(self.sign_up, chosen))

    # --- the peak ------------------------------------------------------------------------
    def draw(self) -> tuple[int | None, int]:
        """A visit's newcomer (a consumer without a card from this run), or None for a
        regular's visit; and the working set's slot it visits from (or replaces)."""
        with self.lock:
            newcomer: int | None = None
            if (
                self.random.random() < self.profile.newcomers
                and len(self.signed_up) < self.profile.consumers
            ):
                newcomer = self.random.randrange(self.profile.consumers)
                while newcomer in self.signed_up:
                    newcomer = self.random.randrange(self.profile.consumers)
                self.signed_up.add(newcomer)
            return newcomer, self.random.randrange(len(self.regulars))

    def visit(self, scheduled: float) -> None:
        try:
            newcomer, slot = self.draw()
            regular = self.regulars[slot] if newcomer is None else self.sign_up(newcomer)
            if newcomer is not None:
                self.regulars[slot] = regular
            _, card, shop, headers = regular
            merchant = self.products[shop][0]
            hold = self.api.post(
                f"/api/v1/cards/{card}/redemptions", {"amount": SPEND}, "merchant", merchant
            )
            self.api.post_as(headers, f"/api/v1/redemptions/{hold['redemption_id']}/confirm", {})
            outcome = "confirmed"
        except ApiError as exc:
            outcome = f"refused {exc.status}: {exc.body.get('error', {}).get('code')}"
        except Exception as exc:  # noqa: BLE001 - counted and reported; the run goes on
            outcome = f"failed: {type(exc).__name__}"
        with self.lock:
            self.counts[outcome] += 1
            if outcome == "confirmed":
                self.latencies.append(time.perf_counter() - scheduled)

    def peak(self) -> float:
        """Open loop: visits handed to the workers at their fixed times; the rate reached."""
        due: queue.SimpleQueue = queue.SimpleQueue()

        def worker() -> None:
            while (scheduled := due.get()) is not None:
                self.visit(scheduled)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.workers)]
        for thread in threads:
            thread.start()
        interval, total = 1 / self.profile.rate, int(self.profile.rate * self.profile.seconds)
        start = time.perf_counter()
        for index in range(total):
            scheduled = start + index * interval
            if (delay := scheduled - time.perf_counter()) > 0:
                time.sleep(delay)
            due.put(scheduled)
        for _ in threads:
            due.put(None)
        for thread in threads:
            thread.join()
        return self.counts["confirmed"] / (time.perf_counter() - start)

    def summary(self, reached: float) -> bool:
        p = self.profile
        ordered = sorted(self.latencies)
        print(
            f"city load: {p.merchants:,} merchants, {p.consumers:,} consumers "
            f"({p.regulars:,} regulars, {p.newcomers:.0%} newcomers), {p.rate:g} confirms/s "
            f"for {p.seconds:g} s\n"
            f"  reached {reached:,.1f} confirms/s; confirm p50 "
            f"{percentile(ordered, 0.5) * 1000:,.0f} ms, "
            f"p99 {percentile(ordered, 0.99) * 1000:,.0f} ms"
        )
        for outcome, count in sorted(self.counts.items()):
            print(f"  {outcome}: {count:,}")
        failed = sum(c for o, c in self.counts.items() if o != "confirmed")
        return failed == 0 and reached >= 0.95 * p.rate


def parser() -> argparse.ArgumentParser:
    given = argparse.ArgumentParser(
        prog="python -m platformrun.simulator.load", description=__doc__.splitlines()[0]
    )
    given.add_argument("--url", default="http://127.0.0.1:8000")
    given.add_argument("--scale", type=float, default=0.01, help="of the city (1: full size)")
    given.add_argument("--merchants", type=int, help="instead of 10,000 x scale")
    given.add_argument("--consumers", type=int, help="instead of 1,000,000 x scale")
    given.add_argument("--rate", type=float, help="peak confirms/s instead of 200 x scale")
    given.add_argument("--seconds", type=float, default=60)
    given.add_argument("--regulars", type=int, default=1_000, help="consumers kept in memory")
    given.add_argument("--newcomers", type=float, default=0.05, help="share of visits")
    given.add_argument("--seed", type=int, default=1)
    given.add_argument(
        "--workers", type=int, help=f"sending threads instead of rate x {WORKER_SECONDS:g} s"
    )
    return given


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    profile = Profile.scaled(
        args.scale,
        merchants=args.merchants,
        consumers=args.consumers,
        rate=args.rate,
        seconds=args.seconds,
        regulars=args.regulars,
        newcomers=args.newcomers,
        seed=args.seed,
    )
    if profile.regulars > profile.consumers or profile.rate <= 0:
        print("--regulars must not exceed the consumers, and --rate must be > 0", file=sys.stderr)
        return 2
    api = Api(args.url)
    try:
        api.get("/healthz")
    except (ApiError, OSError):
        print(f"no platform at {args.url}: start it with `make run`", file=sys.stderr)
        return 2
    load = CityLoad(api, profile, args.workers)
    started = time.perf_counter()
    load.seed()
    print(f"  (seeded in {time.perf_counter() - started:,.0f} s)", flush=True)
    return 0 if load.summary(load.peak()) else 1


if __name__ == "__main__":
    sys.exit(main())
