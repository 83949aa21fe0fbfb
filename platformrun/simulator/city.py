"""The synthetic city: shops open on day 0, consumers buy and redeem cards day by day, and
the story's two misbehaving shops do what `story.Storyline` says when it says; at the end,
a summary of what happened and whether every shop got the code its behaviour deserves."""

from __future__ import annotations

import itertools
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tqdm import tqdm

from platformrun.simulator.api import Api, ApiError
from platformrun.simulator.story import Storyline
from services.merchant.domain.uscc import ALPHABET, check_character

INDUSTRIES = ("fitness", "beauty", "catering", "education", "retail")
PRODUCTS = {
    "stored_value": {
        "type": "stored_value",
        "name": "500 + 50",
        "price": 50_000,
        "bonus": 5_000,
        "validity_days": 365,
    },
    "count": {
        "type": "count",
        "name": "10 visits",
        "price": 30_000,
        "uses": 10,
        "validity_days": 180,
    },
    "period": {"type": "period", "name": "Quarter", "price": 60_000, "period_days": 90},
}


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
        self.story = Storyline.for_days(days)
        self.random = random.Random(seed)
        self.merchant_count, self.consumer_count = merchants, consumers
        self.shops: list[Shop] = []
        self.holders: list[Holder] = []
        self.counts: Counter = Counter()
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(16)
        self.uscc_numbers = itertools.count(1)  # shops open in parallel: next() is atomic

    # --- day 0 ---------------------------------------------------------------------------
    def uscc(self) -> str:
        """A valid code of its own for each shop (a USCC is unique among live merchants),
        numbered, so the city's random choices stay what they were."""
        number, body = next(self.uscc_numbers), ""
        for _ in range(13):
            number, digit = divmod(number, len(ALPHABET))
            body = ALPHABET[digit] + body
        first17 = "9137" + body
        return first17 + check_character(first17)

    def open_shop(self, name: str, industry: str, kind: str) -> Shop:
        made = self.api.post(
            "/api/v1/merchants",
            {
                "name": name,
                "uscc": self.uscc(),
                "industry": industry,
                "address": "Weihai",
                "contact_phone": "138" + str(self.random.randrange(10**8)).zfill(8),
            },
            "operator",
            "op-demo",
        )
        shop = Shop(made["merchant_id"], name, kind)
        # Maker-checker: a second operator approves what the first filed.
        self.api.post(f"/api/v1/merchants/{shop.merchant_id}/approve", {}, "operator", "op-demo-2")
        for card_type, product in PRODUCTS.items():
            body: dict[str, object] | None = product
            if kind == "aggressive":
                body = {**product, "bonus": 15_000} if card_type == "stored_value" else None
            if body is not None and industry == "education" and "validity_days" in body:
                body = {**body, "validity_days": 90}  # 校外培训: at most 3 months
            if body is not None:
                shop.products[card_type] = self.api.post(
                    f"/api/v1/merchants/{shop.merchant_id}/products",
                    body,
                    "merchant",
                    shop.merchant_id,
                )["product_id"]
        return shop

    def setup(self) -> None:
        specials = [
            ("Golden Gym", "fitness", "aggressive", ("red",)),
            ("Quick Wash", "beauty", "surge", ("red",)),
        ]
        jobs = [
            (f"Shop {i}", INDUSTRIES[i % len(INDUSTRIES)], "healthy", ("green",))
            for i in range(self.merchant_count - len(specials))
        ] + specials
        shops = self.pool.map(lambda job: self.open_shop(*job[:3]), jobs)
        for job, shop in zip(jobs, shops, strict=True):
            shop.expected = job[3]
            self.shops.append(shop)

    # --- each day ------------------------------------------------------------------------
    def buy(self, consumer: int, day: int, shop: Shop) -> None:
        card_type = self.random.choice(sorted(shop.products))
        consumer_id = f"c-{consumer}"
        try:
            card = self.api.post(
                "/api/v1/cards", {"product_id": shop.products[card_type]}, "consumer", consumer_id
            )
        except ApiError as exc:
            with self.lock:
                self.counts[f"purchase refused: {exc.body['error']['code']}"] += 1
            return
        with self.lock:
            self.counts["cards bought"] += 1
            self.holders.append(
                Holder(
                    consumer_id, shop, card["card_id"], card_type, day + self.random.randint(3, 12)
                )
            )

    def visit(self, holder: Holder, day: int) -> None:
        request = {"stored_value": {"amount": 10_000}, "count": {"uses": 1}, "period": {}}[
            holder.card_type
        ]
        try:
            hold = self.api.post(
                f"/api/v1/cards/{holder.card_id}/redemptions",
                request,
                "merchant",
                holder.shop.merchant_id,
            )
            self.api.post(
                f"/api/v1/redemptions/{hold['redemption_id']}/confirm",
                {},
                "consumer",
                holder.consumer_id,
            )
            outcome = "spends confirmed"
        except ApiError as exc:
            code = exc.body["error"]["code"]
            outcome = f"visit refused: {code}"
            holder.spent = code in ("insufficient_balance", "card_not_active", "card_expired")
        with self.lock:
            self.counts[outcome] += 1
        holder.next_visit = day + self.random.randint(3, 10)

    def complain(self, holder: Holder) -> None:
        self.api.post(
            "/api/v1/complaints",
            {
                "merchant_id": holder.shop.merchant_id,
                "card_id": holder.card_id,
                "category": "service_not_provided",
                "text": "the shop keeps cancelling",
            },
            "consumer",
            holder.consumer_id,
        )
        with self.lock:
            self.counts["complaints"] += 1

    def day(self, day: int, buyers: list[int]) -> None:
        golden = next(s for s in self.shops if s.kind == "aggressive")
        healthy = [s for s in self.shops if s.kind == "healthy"]
        purchases = []
        story = self.story
        for consumer in buyers:
            # Golden Gym's bonus draws a crowd during its season.
            aggressive_season = (
                story.season_start <= day < story.season_end and self.random.random() < 0.25
            )
            shop = (
                golden
                if aggressive_season
                else self.random.choice(healthy + [s for s in self.shops if s.kind == "surge"])
            )
            purchases.append((consumer, shop))
        list(self.pool.map(lambda p: self.buy(p[0], day, p[1]), purchases))
        # Golden Gym stops serving its members once its season is over.
        due = [
            h
            for h in self.holders
            if h.next_visit <= day
            and not h.spent
            and not (h.shop.kind == "aggressive" and day >= story.season_end)
        ]
        list(self.pool.map(lambda h: self.visit(h, day), due))
        if day == story.surge_day:
            surge = [h for h in self.holders if h.shop.kind == "surge"][:12]
            list(self.pool.map(self.complain, surge))
        if day == story.default_day and golden.merchant_id:
            # Two regulators: one proposes the default, the other confirms it.
            url, reason = (
                f"/api/v1/merchants/{golden.merchant_id}/default",
                {"reason": "absconded with the members' money"},
            )
            self.api.post(url, reason, "regulator", "reg-demo")
            result = self.api.post(url, reason, "regulator", "reg-demo-2")
            self.counts["cards refunded on default"] += result["cards_refunded"]
            self.counts["fen refunded on default"] += result["amount_refunded"]
        self.work_alerts()
        self.api.post("/api/v1/demo/clock", {"days": 1}, "operator", "op-demo")

    def work_alerts(self) -> None:
        """The regulator acknowledges every new alert the same day."""
        kinds = {shop.merchant_id: shop.kind for shop in self.shops}
        # Acknowledged alerts leave the open list, so its first page is always the new ones.
        while alerts := self.api.get("/api/v1/alerts?limit=500", "regulator", "reg-demo")["items"]:
            self.acknowledge(alerts, kinds)

    def acknowledge(self, alerts: list, kinds: dict) -> None:
        for alert in alerts:
            self.api.post(
                f"/api/v1/alerts/{alert['alert_id']}/acknowledge", {}, "regulator", "reg-demo"
            )
            self.counts[f"{alert['code']} alerts"] += 1
            if kinds.get(alert["merchant_id"]) == "healthy":
                self.counts["alerts about healthy shops"] += 1

    def run(self) -> None:
        self.setup()
        consumers = list(range(self.consumer_count))
        self.random.shuffle(consumers)
        per_day = -(-len(consumers) // self.story.buying_days)
        for day in tqdm(range(self.days), desc="simulated days", unit="day"):
            self.day(day, consumers[day * per_day : (day + 1) * per_day])

    # --- the end ---------------------------------------------------------------------------
    def reconciled(self) -> str:
        """The finished days reconciled with the bank's statements, matched or not."""
        statuses: Counter = Counter()
        cursor = ""
        while True:
            page = self.api.get(
                f"/api/v1/reconciliation?limit=500&cursor={cursor}", "regulator", "reg-demo"
            )
            statuses.update(report["status"] for report in page["items"])
            if not (cursor := page["next_cursor"]):
                break
        return f"{statuses['matched']:,} days matched, {statuses['differences']:,} with differences"

    def summary(self) -> bool:
        codes = {
            shop.merchant_id: self.api.get(f"/api/v1/merchants/{shop.merchant_id}")["health_code"]
            for shop in self.shops
        }
        print("\nhealth codes:", dict(Counter(codes.values())))
        for name, value in sorted(self.counts.items()):
            print(f"  {name}: {value:,}")
        checkpoint = self.api.get("/api/v1/ledger/checkpoint")
        print(f"  ledger: {checkpoint['size']:,} entries, root {checkpoint['root_hash'][:16]}…")
        print(f"  reconciliation with the bank: {self.reconciled()}")
        wrong = [
            (s.name, codes[s.merchant_id], s.expected)
            for s in self.shops
            if codes[s.merchant_id] not in s.expected
        ]
        for shop in self.shops:
            if shop.kind != "healthy":
                status = self.api.get(f"/api/v1/merchants/{shop.merchant_id}")["status"]
                print(f"  {shop.name}: {codes[shop.merchant_id]}, {status}")
        print("every shop got the code it deserves" if not wrong else f"unexpected: {wrong}")
        return not wrong
