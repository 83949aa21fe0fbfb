"""Finding 17: policy keys that did nothing. `merchants.min_licence_age_days`, the two refund
due-day keys and `sectors.education.escrow_ratio_percent` were loaded, validated and shipped,
and no code read them: an operator changing them changed nothing.

Each now does what domain-rules.md says, shown here; and a test runs the code paths that use
the policy with a policy that records every key read, and requires every key of the shipped
file to have been read. A static search for key names would pass for a dead key whose name
happens to be a field elsewhere (`escrow_ratio_percent` is also a field of the escrow's
CardPurchased event), so only reads count.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from eventstore.sqlite import SqliteEventStore
from messaging import outbound, queues
from messaging.health import store_health
from messaging.relay import OutboxRelay
from messaging.relay_refusals import _InFlight
from policy import DEFAULT_FILE, load_policy
from policy.recording import keys_of, recording
from privacy import Vault
from services.domain_errors import BusinessRuleViolation
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import commands as escrow
from services.escrow.application import queries, refund_deadlines, scheduled_work
from services.escrow.domain.refund_due import add_working_days
from services.gateway.app import create_app
from services.inspection.domain.rules import InspectionRules
from services.merchant.application import commands as merchants
from services.merchant.application import queries as merchant_queries
from services.merchant.domain.uscc import check_character
from services.risk.domain.alerts import AlertRules
from services.risk.domain.health_code import RiskRules
from tests.support.gateway import auth, gateway_settings
from tests.support.harness import start_service, stop, store_url, wait_until

NOW = datetime(2026, 11, 6, 10, tzinfo=UTC)  # a Friday
PRODUCTS = {  # a valid product of each type for each sector the policy names, and retail
    "stored_value": {
        "type": "stored_value",
        "name": "value",
        "price": 10_000,
        "bonus": 1_000,
        "validity_days": 60,
    },
    "count": {"type": "count", "name": "ten", "price": 10_000, "uses": 10, "validity_days": 60},
    "period": {"type": "period", "name": "month", "price": 10_000, "period_days": 30},
}


class CallbackLost(SimulatedBank):
    """Takes the deposit, and its confirmation never reaches the escrow."""

    def request_deposit(self, payment_id, card_id, amount):
        super().request_deposit(payment_id, card_id, amount)
        return False


class BankDown(SimulatedBank):
    def refund_to_origin(self, payment_id, card_id, amount):
        raise ConnectionError("the bank does not answer")


def uscc(i: int) -> str:
    first17 = f"91350100M{i:08d}"
    return first17 + check_character(first17)


class World:
    """The merchant and escrow application layers on real SQLite stores and the demo bank."""

    def __init__(self, tmp_path: Path, policy):
        self.policy = policy
        self.merchants = SqliteEventStore(str(tmp_path / "merchant.db"))
        self.escrow = SqliteEventStore(str(tmp_path / "escrow.db"))
        self.vault = Vault(tmp_path / "vault.db")
        self.bank = SimulatedBank(tmp_path / "bank", clock=lambda: NOW)
        self.count = 0

    def close(self):
        for closable in (self.merchants, self.escrow, self.vault):
            closable.close()

    def merchant(self, industry: str, licence_issued_on: str | None = None) -> str:
        self.count += 1
        merchant_id = merchants.apply_for_merchant(
            name=f"Shop {self.count}",
            uscc=uscc(self.count),
            industry=industry,
            address="1 Road",
            contact_phone="13800000000",
            applied_by="operator:o-1",
            store=self.merchants,
            vault=self.vault,
            new_id=lambda: f"m-{self.count}",
            licence_issued_on=licence_issued_on,
        )["merchant_id"]
        merchants.approve_merchant(merchant_id, "operator:o-2", store=self.merchants)
        return merchant_id

    def product(self, merchant_id: str, kind: str) -> str:
        return merchants.create_product(
            merchant_id, dict(PRODUCTS[kind]), store=self.merchants, policy=self.policy
        )["product_id"]

    def product_for_sale(self, product_id: str) -> dict:  # the escrow's merchant port
        return merchant_queries.product_for_sale(
            product_id, store=self.merchants, policy=self.policy, now=NOW
        )

    def buy(self, consumer: str, product_id: str, at: datetime = NOW) -> str:
        return escrow.purchase_card(
            consumer,
            product_id,
            store=self.escrow,
            merchants=self,
            bank=self.bank,
            policy=self.policy,
            now=at,
        )["card_id"]


@pytest.fixture
def world(tmp_path):
    built = World(tmp_path, load_policy())
    yield built
    built.close()


def test_a_merchant_with_a_young_licence_may_not_sell_cards(world):
    young = world.merchant("retail", (NOW.date() - timedelta(days=179)).isoformat())
    old = world.merchant("retail", (NOW.date() - timedelta(days=180)).isoformat())
    undeclared = world.merchant("retail")
    with pytest.raises(BusinessRuleViolation, match="licence held 179 days") as refused:
        world.buy("c-1", world.product(young, "count"))
    assert refused.value.code == "merchant_may_not_sell"
    for merchant_id in (old, undeclared):
        assert world.buy("c-1", world.product(merchant_id, "count")).startswith("card-")
    assert (
        merchant_queries.get_merchant(
            young, viewer_is_owner=False, store=world.merchants, vault=world.vault
        )["licence_issued_on"]
        == (NOW.date() - timedelta(days=179)).isoformat()
    )


def test_refunds_are_due_by_the_policys_days_and_late_ones_are_listed(world):
    merchant_id = world.merchant("retail")
    product = world.product(merchant_id, "count")
    cooling, asked, crashed = (world.buy(f"c-{i}", product) for i in range(3))
    hold = escrow.request_redemption(
        asked, merchant_id, value=0, uses=1, store=world.escrow, policy=world.policy, now=NOW
    )
    escrow.confirm_redemption(hold["redemption_id"], "c-1", store=world.escrow, now=NOW)
    refund = lambda card_id: escrow.refund_card(  # noqa: E731
        card_id, None, rule=None, store=world.escrow, bank=world.bank, policy=world.policy, now=NOW
    )
    first = refund(cooling)
    assert first["rule"] == "cooling_off"
    assert first["due_on"] == "2026-11-13", "5 working days from a Friday: the next Friday"
    second = refund(asked)
    assert second["rule"] == "on_request" and second["due_on"] == "2026-11-21", "15 days"

    # The bank does not answer after the refund's commit: its instruction stays pending.
    with pytest.raises(ConnectionError):
        escrow.refund_card(
            crashed,
            None,
            rule=None,
            store=world.escrow,
            policy=world.policy,
            bank=BankDown(world.bank.statement_dir),
            now=NOW,
        )
    late = lambda at: refund_deadlines.overdue_refunds(  # noqa: E731
        store=world.escrow, policy=world.policy, now=at
    )
    assert late(NOW + timedelta(days=7))["items"] == [], "due on the 13th, not late yet"
    listed = late(NOW + timedelta(days=9))
    assert [(r["card_id"], r["due_on"], r["days_overdue"]) for r in listed["items"]] == [
        (crashed, "2026-11-13", 2)
    ]
    scheduled_work.sweep(
        store=world.escrow, bank=world.bank, policy=world.policy, now=NOW + timedelta(days=9)
    )
    assert late(NOW + timedelta(days=9))["items"] == [], "sent again by the scheduled work"


def test_education_cards_are_held_at_the_sectors_own_ratio(tmp_path):
    lowered = tmp_path / "policy.toml"
    lowered.write_text(
        DEFAULT_FILE.read_text().replace("\nratio_percent = 100", "\nratio_percent = 40", 1)
    )
    world = World(tmp_path, load_policy(lowered))
    try:
        assert world.policy.escrow.ratio_percent == 40
        school, shop = world.merchant("education"), world.merchant("retail")
        lessons = world.buy("c-1", world.product(school, "count"))
        goods = world.buy("c-1", world.product(shop, "count"))
        held = {
            r.data["card_id"]: r.data["escrow_ratio_percent"]
            for r in world.escrow.read_all(0, 100)
            if r.type == "escrow.CardPurchased.v1"
        }
        assert (held[lessons], held[goods]) == (100, 40)
    finally:
        world.close()


def test_working_days_skip_weekends():
    friday = date(2026, 11, 6)
    assert add_working_days(friday, 1) == date(2026, 11, 9)
    assert add_working_days(friday, 5) == date(2026, 11, 13)
    assert add_working_days(friday - timedelta(days=1), 0) == date(2026, 11, 5)


def test_every_key_of_the_policy_file_is_read(tmp_path):
    policy, reads = recording(load_policy())
    world = World(tmp_path, policy)
    try:
        # Merchants: every product type in every sector the policy caps, and elsewhere; a
        # refused product (its breach names the policy version); a promotion; a licence.
        sold = []
        for industry in [*load_policy().sectors, "retail"]:
            merchant_id = world.merchant(industry, "2020-01-01")
            sold += [world.product(merchant_id, kind) for kind in PRODUCTS]
        with pytest.raises(BusinessRuleViolation):
            merchants.create_product(
                merchant_id,
                {**PRODUCTS["count"], "price": 10**9},
                store=world.merchants,
                policy=policy,
            )
        merchants.create_promotion(
            merchant_id,
            {
                "product_id": sold[-3],
                "name": "spring",
                "bonus": 500,
                "starts_at": (NOW + timedelta(days=1)).isoformat(),
                "ends_at": (NOW + timedelta(days=8)).isoformat(),
            },
            "merchant:" + merchant_id,
            store=world.merchants,
            policy=policy,
            now=NOW,
        )
        # Escrow: buy each, redeem, refund by each rule, settle, recover a payment whose
        # confirmation was lost.
        cards = [world.buy("c-1", product_id) for product_id in sold]
        unconfirmed = escrow.purchase_card(
            "c-2",
            sold[0],
            store=world.escrow,
            merchants=world,
            policy=policy,
            now=NOW,
            bank=CallbackLost(world.bank.statement_dir, clock=lambda: NOW),
        )["card_id"]
        hold = escrow.request_redemption(
            cards[-2], merchant_id, value=0, uses=1, store=world.escrow, policy=policy, now=NOW
        )
        escrow.confirm_redemption(hold["redemption_id"], "c-1", store=world.escrow, now=NOW)
        for card_id in (cards[-3], cards[-2]):  # cooling-off, then on request
            escrow.refund_card(
                card_id,
                "c-1",
                rule=None,
                store=world.escrow,
                bank=world.bank,
                policy=policy,
                now=NOW,
            )
        scheduled_work.sweep(
            store=world.escrow, bank=world.bank, policy=policy, now=NOW + timedelta(days=2)
        )
        assert queries.get_card(unconfirmed, store=world.escrow)["status"] == "active"
        # Risk: its rules are built from the [risk] section, the alert queue's SLA from
        # [risk.alerts].
        RiskRules.from_policy(policy.risk)
        assert AlertRules.from_policy(policy.risk).hours("red") == 24
        # Inspections: the classification's rules, tier tables included, from [inspection].
        assert InspectionRules.from_policy(policy.inspection).quota_per_year["D"] == 4
        # The relay: each stored event is checked against its bounds before publishing, the
        # service's health judges the relay's lag and age, and a refusal is counted against
        # the limit that parks the event.
        for record in world.escrow.read_all(0, 5):
            outbound.encode("escrow", record, policy.relay, frame_max=131_072)
        health = store_health(world.escrow, "escrow", policy.relay)
        assert health["relay_lag"] > 0 and health["relay_status"] == "ok", "within the limits"
        relay = OutboxRelay(world.escrow, "escrow", "amqp://127.0.0.1:1/", rules=policy.relay)
        assert relay._count_refusal(_InFlight(1, "e-1", "escrow.CardPurchased.v1")) == 1
        # Consumers: every platform queue is declared with [consumers]' type and delivery
        # limit, and a parked message's error is bounded by it.
        assert queues.queue_arguments("q", policy.consumers)["x-delivery-limit"] == 5
        assert queues.error_headers(ValueError("x"), policy.consumers)
    finally:
        world.close()
    shipped = keys_of(tomllib.loads(DEFAULT_FILE.read_text()))
    assert shipped - reads == set(), "policy keys that no code read"


@pytest.mark.broker
def test_a_licence_date_through_http(tmp_path, amqp_uri):
    """The application's optional `licence_issued_on`: kept, shown, checked, and refused
    when it is not a date; a young licence gets 422 at purchase."""
    processes = [start_service(name, tmp_path, amqp_uri) for name in ("merchant", "escrow")]
    app = create_app(gateway_settings(tmp_path, amqp_uri))
    client = app.test_client()
    try:
        wait_until(
            lambda: client.get("/api/v1/merchants").status_code == 200,
            timeout=90,
            what="the merchant service",
        )
        operator = auth(client, "operator", "o-1")
        body = {
            "name": "New Gym",
            "uscc": uscc(1),
            "industry": "fitness",
            "address": "1 Road",
            "contact_phone": "13800000000",
        }
        for bad in ("2026-13-45", "yesterday", "20240101"):
            refused = client.post(
                "/api/v1/merchants", json={**body, "licence_issued_on": bad}, headers=operator
            )
            assert refused.status_code == 400, refused.get_json()
        issued = (datetime.now(UTC).date() - timedelta(days=30)).isoformat()
        merchant_id = client.post(
            "/api/v1/merchants", json={**body, "licence_issued_on": issued}, headers=operator
        ).get_json()["merchant_id"]
        approved = client.post(
            f"/api/v1/merchants/{merchant_id}/approve", headers=auth(client, "operator", "o-2")
        )  # maker-checker
        assert approved.status_code == 200, approved.get_json()
        assert (
            client.get(f"/api/v1/merchants/{merchant_id}").get_json()["licence_issued_on"] == issued
        )
        product = client.post(
            f"/api/v1/merchants/{merchant_id}/products",
            json=PRODUCTS["count"],
            headers=auth(client, "merchant", merchant_id),
        ).get_json()
        wait_until(
            lambda: (
                client.get(
                    "/api/v1/consumers/me/cards", headers=auth(client, "consumer", "c-1")
                ).status_code
                == 200
            ),
            timeout=90,
            what="escrow",
        )
        bought = client.post(
            "/api/v1/cards",
            json={"product_id": product["product_id"]},
            headers=auth(client, "consumer", "c-1"),
        )
        assert bought.status_code == 422
        assert bought.get_json()["error"]["code"] == "merchant_may_not_sell"
        escrow_store = SqliteEventStore(store_url(tmp_path, "escrow")[len("sqlite:///") :])
        try:
            assert not escrow_store.read_all(0, 10), "no card, no deposit"
        finally:
            escrow_store.close()
    finally:
        app.config["RPC_POOL"].close()
        for process in processes:
            stop(process)
