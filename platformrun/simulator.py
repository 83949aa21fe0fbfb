"""`make demo`: a synthetic city driven through the real API of a running demo platform.

Merchants open and sell the three card types; consumers buy cards and redeem them, each spend
confirmed by its owner; the platform's clock moves one simulated day at a time. Two shops
misbehave:
* "Golden Gym" sells 30% bonus cards aggressively, stops serving its members, and absconds:
  the regulator declares the default and every open card is refunded from escrow;
* "Quick Wash" draws a surge of complaints.

At the end it prints the codes, alerts, refunds and ledger size, and checks that every shop got
the code its behaviour deserves (exit status 1 if not).
"""
from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlparse

from tqdm import tqdm

USCC = "91350100M000100Y43"
INDUSTRIES = ("fitness", "beauty", "catering", "education", "retail")
PRODUCTS = {
    "stored_value": {"type": "stored_value", "name": "500 + 50", "price": 50_000,
                     "bonus": 5_000, "validity_days": 365},
    "count": {"type": "count", "name": "10 visits", "price": 30_000, "uses": 10,
              "validity_days": 180},
    "period": {"type": "period", "name": "Quarter", "price": 60_000, "period_days": 90},
}


class ApiError(RuntimeError):
    def __init__(self, status: int, body: dict):
        super().__init__(f"{status}: {body}")
        self.status, self.body = status, body


class Api:
    """One keep-alive connection per thread; every POST carries a fresh Idempotency-Key."""

    def __init__(self, url: str):
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.local = threading.local()
        self.tokens: dict[tuple[str, str], dict] = {}

    def _send(self, method: str, path: str, body: dict | None, headers: dict) -> dict:
        for attempt in range(2):   # one reconnect if the server closed the idle connection
            if not hasattr(self.local, "conn"):
                self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            try:
                self.local.conn.request(method, path, None if body is None else json.dumps(body),
                                        {"Content-Type": "application/json", **headers})
                answer = self.local.conn.getresponse()
                data = json.loads(answer.read() or b"{}")
            except (http.client.HTTPException, OSError):
                del self.local.conn
                if attempt:
                    raise
                continue
            if answer.status == 429:   # the gateway's rate limit: wait as told, then again
                time.sleep(max(1, int(answer.getheader("Retry-After") or 1)))
                return self._send(method, path, body, headers)
            if answer.status >= 400:
                raise ApiError(answer.status, data)
            return data
        raise AssertionError("unreachable")

    def auth(self, role: str, subject: str) -> dict:
        key = (role, subject)
        if key not in self.tokens:
            token = self._send("POST", "/api/v1/auth/dev-login",
                               {"role": role, "subject": subject}, {})["token"]
            self.tokens[key] = {"Authorization": f"Bearer {token}"}
        return self.tokens[key]

    def post(self, path: str, body: dict | None, role: str, subject: str) -> dict:
        return self._send("POST", path, body or {}, {
            **self.auth(role, subject), "Idempotency-Key": uuid.uuid4().hex})

    def get(self, path: str, role: str | None = None, subject: str = "") -> dict:
        return self._send("GET", path, None, self.auth(role, subject) if role else {})


@dataclass
class Shop:
    merchant_id: str
    name: str
    kind: str = "healthy"
    products: dict[str, str] = field(default_factory=dict)
    expected: tuple[str, ...] = ("green",)


@dataclass
class Holder:
    consumer_id: str
    shop: Shop
    card_id: str
    card_type: str
    next_visit: int
    spent: bool = False
    """Used up, refunded or expired: no more visits."""


class City:
    def __init__(self, api: Api, merchants: int, consumers: int, days: int, seed: int):
        self.api, self.days = api, days
        self.random = random.Random(seed)
        self.merchant_count, self.consumer_count = merchants, consumers
        self.shops: list[Shop] = []
        self.holders: list[Holder] = []
        self.counts: Counter = Counter()
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(16)

    # --- day 0 ---------------------------------------------------------------------------
    def open_shop(self, name: str, industry: str, kind: str) -> Shop:
        made = self.api.post("/api/v1/merchants", {
            "name": name, "uscc": USCC, "industry": industry, "address": "Weihai",
            "contact_phone": "138" + str(self.random.randrange(10 ** 8)).zfill(8)},
            "operator", "op-demo")
        shop = Shop(made["merchant_id"], name, kind)
        self.api.post(f"/api/v1/merchants/{shop.merchant_id}/approve", {}, "operator", "op-demo")
        for card_type, body in PRODUCTS.items():
            if kind == "aggressive":
                body = {**body, "bonus": 15_000} if card_type == "stored_value" else None
            if body is not None and industry == "education" and "validity_days" in body:
                body = {**body, "validity_days": 90}   # 校外培训: at most 3 months
            if body is not None:
                shop.products[card_type] = self.api.post(
                    f"/api/v1/merchants/{shop.merchant_id}/products", body, "merchant",
                    shop.merchant_id)["product_id"]
        return shop

    def setup(self) -> None:
        specials = [("Golden Gym", "fitness", "aggressive", ("red",)),
                    ("Quick Wash", "beauty", "surge", ("red",))]
        jobs = [(f"Shop {i}", INDUSTRIES[i % len(INDUSTRIES)], "healthy", ("green",))
                for i in range(self.merchant_count - len(specials))] + specials
        shops = self.pool.map(lambda job: self.open_shop(*job[:3]), jobs)
        for job, shop in zip(jobs, shops, strict=True):
            shop.expected = job[3]
            self.shops.append(shop)

    # --- each day ------------------------------------------------------------------------
    def buy(self, consumer: int, day: int, shop: Shop) -> None:
        card_type = self.random.choice(sorted(shop.products))
        consumer_id = f"c-{consumer}"
        try:
            card = self.api.post("/api/v1/cards", {"product_id": shop.products[card_type]},
                                 "consumer", consumer_id)
        except ApiError as exc:
            with self.lock:
                self.counts[f"purchase refused: {exc.body['error']['code']}"] += 1
            return
        with self.lock:
            self.counts["cards bought"] += 1
            self.holders.append(Holder(consumer_id, shop, card["card_id"], card_type,
                                       day + self.random.randint(3, 12)))

    def visit(self, holder: Holder, day: int) -> None:
        request = {"stored_value": {"amount": 10_000}, "count": {"uses": 1},
                   "period": {}}[holder.card_type]
        try:
            hold = self.api.post(f"/api/v1/cards/{holder.card_id}/redemptions", request,
                                 "merchant", holder.shop.merchant_id)
            self.api.post(f"/api/v1/redemptions/{hold['redemption_id']}/confirm", {},
                          "consumer", holder.consumer_id)
            outcome = "spends confirmed"
        except ApiError as exc:
            code = exc.body["error"]["code"]
            outcome = f"visit refused: {code}"
            holder.spent = code in ("insufficient_balance", "card_not_active", "card_expired")
        with self.lock:
            self.counts[outcome] += 1
        holder.next_visit = day + self.random.randint(3, 10)

    def complain(self, holder: Holder) -> None:
        self.api.post("/api/v1/complaints", {
            "merchant_id": holder.shop.merchant_id, "card_id": holder.card_id,
            "category": "service_not_provided", "text": "the shop keeps cancelling"},
            "consumer", holder.consumer_id)
        with self.lock:
            self.counts["complaints"] += 1

    def day(self, day: int, buyers: list[int]) -> None:
        golden = next(s for s in self.shops if s.kind == "aggressive")
        healthy = [s for s in self.shops if s.kind == "healthy"]
        purchases = []
        for consumer in buyers:
            # Golden Gym's bonus draws a crowd between days 30 and 50.
            aggressive_season = 30 <= day < 50 and self.random.random() < 0.25
            shop = golden if aggressive_season else self.random.choice(
                healthy + [s for s in self.shops if s.kind == "surge"])
            purchases.append((consumer, shop))
        list(self.pool.map(lambda p: self.buy(p[0], day, p[1]), purchases))
        # Golden Gym stops serving its members after day 50.
        due = [h for h in self.holders if h.next_visit <= day and not h.spent
               and not (h.shop.kind == "aggressive" and day >= 50)]
        list(self.pool.map(lambda h: self.visit(h, day), due))
        if day == 60:
            surge = [h for h in self.holders if h.shop.kind == "surge"][:12]
            list(self.pool.map(self.complain, surge))
        if day == self.days - 5 and golden.merchant_id:
            result = self.api.post(f"/api/v1/merchants/{golden.merchant_id}/default",
                                   {"reason": "absconded with the members' money"},
                                   "regulator", "reg-demo")
            self.counts["cards refunded on default"] += result["cards_refunded"]
            self.counts["fen refunded on default"] += result["amount_refunded"]
        self.work_alerts()
        self.api.post("/api/v1/demo/clock", {"days": 1}, "operator", "op-demo")

    def work_alerts(self) -> None:
        """The regulator acknowledges every new alert the same day."""
        kinds = {shop.merchant_id: shop.kind for shop in self.shops}
        for alert in self.api.get("/api/v1/alerts", "regulator", "reg-demo")["items"]:
            self.api.post(f"/api/v1/alerts/{alert['alert_id']}/acknowledge", {}, "regulator",
                          "reg-demo")
            self.counts[f"{alert['code']} alerts"] += 1
            if kinds.get(alert["merchant_id"]) == "healthy":
                self.counts["alerts about healthy shops"] += 1

    def run(self) -> None:
        self.setup()
        consumers = list(range(self.consumer_count))
        self.random.shuffle(consumers)
        per_day = -(-len(consumers) // (self.days - 10))
        for day in tqdm(range(self.days), desc="simulated days", unit="day"):
            self.day(day, consumers[day * per_day:(day + 1) * per_day])

    # --- the end ---------------------------------------------------------------------------
    def summary(self) -> bool:
        codes = {shop.merchant_id: self.api.get(
            f"/api/v1/merchants/{shop.merchant_id}")["health_code"] for shop in self.shops}
        print("\nhealth codes:", dict(Counter(codes.values())))
        for name, value in sorted(self.counts.items()):
            print(f"  {name}: {value:,}")
        checkpoint = self.api.get("/api/v1/ledger/checkpoint")
        print(f"  ledger: {checkpoint['size']:,} entries, root {checkpoint['root_hash'][:16]}…")
        wrong = [(s.name, codes[s.merchant_id], s.expected) for s in self.shops
                 if codes[s.merchant_id] not in s.expected]
        for shop in self.shops:
            if shop.kind != "healthy":
                status = self.api.get(f"/api/v1/merchants/{shop.merchant_id}")["status"]
                print(f"  {shop.name}: {codes[shop.merchant_id]}, {status}")
        print("every shop got the code it deserves" if not wrong else f"unexpected: {wrong}")
        return not wrong


def _platform_answers(api: Api) -> bool:
    try:
        api.get("/healthz")
        return True
    except (ApiError, OSError, http.client.HTTPException):
        return False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--merchants", type=int, default=300)
    parser.add_argument("--consumers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    api = Api(args.url)
    if not _platform_answers(api):
        print(f"no healthy platform at {args.url}: start it with `make run` (another terminal)",
              file=sys.stderr)
        return 2
    city = City(api, args.merchants, args.consumers, args.days, args.seed)
    try:
        city.run()
        return 0 if city.summary() else 1
    finally:
        city.pool.shutdown()


if __name__ == "__main__":
    sys.exit(main())
