"""Finding 3: a merchant could trap consumers' money.

A retail product with `period_days = 10**9` was accepted (no sector but fitness and education
capped the period, uses or validity of every type). Buying it took the deposit at the bank
and then failed computing the card's expiry (a date overflow): a 500, the card left
`pending_payment`, its refund refused, and the consumer's cap used for good.

Now every numeric product field has a policy cap in every sector (422 listing every breached
rule), a product made under a looser policy is not sold, and any failure after the bank took
the money returns it: a refund instruction, the card closed as refunded, the cap freed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from services.domain_errors import BusinessRuleViolation
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import commands, queries
from services.escrow.application.reconciliation import reconcile
from services.escrow.domain import deposits
from services.merchant.domain import model, products
from services.merchant.domain.events import ProductCreated

POLICY = load_policy()
T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
HUGE = 10**9
FIELDS = {
    "stored_value": ("price", "bonus", "validity_days"),
    "count": ("price", "uses", "validity_days"),
    "period": ("price", "period_days", "validity_days"),
}
SANE = {
    "stored_value": {"price": 10_000, "bonus": 1_000, "validity_days": 60},
    "count": {"price": 10_000, "uses": 10, "validity_days": 60},
    "period": {"price": 10_000, "period_days": 30},
}


def merchant(industry: str) -> model.Merchant:
    found = model.Merchant("m-1", industry=industry)
    found.status = "active"
    return found


@pytest.mark.parametrize("industry", model.INDUSTRIES)
@pytest.mark.parametrize("card_type", products.PRODUCT_TYPES)
def test_every_numeric_product_field_is_capped_in_every_sector(industry, card_type):
    products.create_product(
        merchant(industry), POLICY, product_id="p", type=card_type, name="ok", **SANE[card_type]
    )
    for name in FIELDS[card_type]:
        fields = {**SANE[card_type], name: HUGE}
        with pytest.raises(BusinessRuleViolation) as refused:
            products.create_product(
                merchant(industry), POLICY, product_id="p", type=card_type, name="trap", **fields
            )
        # The same product with a sane value passed, so the breach is this field's.
        assert refused.value.code == "policy_breach", f"{industry} {card_type} {name}"
        assert refused.value.details["breaches"]


def test_every_breached_rule_is_listed_at_once():
    with pytest.raises(BusinessRuleViolation) as refused:
        products.create_product(
            merchant("retail"),
            POLICY,
            product_id="p",
            type="count",
            name="trap",
            price=HUGE,
            uses=HUGE,
            validity_days=HUGE,
        )
    assert {b["rule"] for b in refused.value.details["breaches"]} == {
        "cards.max_card_price",
        "cards.max_uses",
        "cards.max_validity_days",
    }


# --- application level: real SQLite store and the simulated bank's statement files --------
class Products:
    """The merchant service's answer, as it was for a product made under the old policy."""

    def __init__(self, **products):
        self.products = products

    def product_for_sale(self, product_id):
        return self.products[product_id]


TRAP = {
    "merchant_id": "m-1",
    "type": "period",
    "price": 500_000,
    "bonus": 0,
    "uses": 0,
    "validity_days": 0,
    "period_days": HUGE,
}
BIG = {
    "merchant_id": "m-1",
    "type": "stored_value",
    "price": 500_000,
    "bonus": 0,
    "uses": 0,
    "validity_days": 365,
    "period_days": 0,
}


@pytest.fixture
def env(tmp_path):
    store = SqliteEventStore(tmp_path / "escrow.db")
    bank = SimulatedBank(tmp_path / "statements", clock=lambda: T0)
    yield store, bank
    store.close()


def assert_money_went_back(store, bank, card_id: str, amount: int) -> None:
    card = queries.get_card(card_id, store=store)
    assert card["status"] == "refunded", "not left pending_payment"
    assert (
        card["deposited"],
        card["refunded_amount"],
        card["escrow_held"],
        card["released_amount"],
    ) == (amount, amount, 0, 0)
    day = T0.date().isoformat()
    movements = [(m["kind"], m["amount"]) for m in bank.statement(day) if m["account"] == card_id]
    assert movements == [("deposit", amount), ("refund", amount)]
    assert store.list_views("bank_instructions", "", 10) == [], "the refund reached the bank"
    report = reconcile(day, bank.statement(day), store=store)
    assert report["missing_at_bank"] == report["unexpected_at_bank"] == []
    stats = queries.merchant_stats("m-1", store=store)
    assert stats["cards_issued"] == stats["issuance_amount"] == stats["refund_amount"] == 0, (
        "a card never issued counts neither as issuance nor as a refund"
    )


def test_the_date_overflow_after_the_deposit_returns_the_money(env):
    store, bank = env
    with pytest.raises(BusinessRuleViolation) as failed:
        commands.purchase_card(
            "c-1",
            "trap",
            store=store,
            merchants=Products(trap=TRAP),
            bank=bank,
            policy=POLICY,
            now=T0,
        )
    assert failed.value.code == "purchase_failed"
    card_id = failed.value.details["card_id"]
    assert failed.value.details["returned_amount"] == 500_000
    assert_money_went_back(store, bank, card_id, 500_000)
    # The cap is free again: four 5,000-yuan cards fit the 20,000-yuan cap.
    for _ in range(4):
        commands.purchase_card(
            "c-1", "big", store=store, merchants=Products(big=BIG), bank=bank, policy=POLICY, now=T0
        )


def test_any_failure_after_the_deposit_returns_the_money(env, monkeypatch):
    store, bank = env

    def broken(*args, **kwargs):
        raise RuntimeError("the activation failed after the bank took the money")

    monkeypatch.setattr(deposits, "confirm_deposit", broken)
    with pytest.raises(BusinessRuleViolation) as failed:
        commands.purchase_card(
            "c-1", "big", store=store, merchants=Products(big=BIG), bank=bank, policy=POLICY, now=T0
        )
    card_id = failed.value.details["card_id"]
    assert_money_went_back(store, bank, card_id, 500_000)
    monkeypatch.undo()
    # The bank confirming the same payment again later changes nothing.
    with pytest.raises(Exception) as late:
        commands.confirm_payment(
            failed.value.details["payment_id"], None, store=store, bank=bank, policy=POLICY, now=T0
        )
    assert getattr(late.value, "code", "") == "card_not_pending"
    assert_money_went_back(store, bank, card_id, 500_000)


def test_a_payment_that_does_not_match_goes_back(env):
    store, bank = env

    class SlowBank(SimulatedBank):
        def request_deposit(self, payment_id, card_id, amount):
            super().request_deposit(payment_id, card_id, amount - 1)  # short by a fen
            return False  # confirms later

    slow = SlowBank(bank.statement_dir, clock=lambda: T0)
    bought = commands.purchase_card(
        "c-1", "big", store=store, merchants=Products(big=BIG), bank=slow, policy=POLICY, now=T0
    )
    assert bought["status"] == "pending_payment"
    with pytest.raises(BusinessRuleViolation) as refused:
        commands.confirm_payment(
            bought["payment"]["payment_id"], 499_999, store=store, bank=slow, policy=POLICY, now=T0
        )
    assert refused.value.code == "payment_mismatch"
    assert refused.value.details["returned_amount"] == 499_999
    card = queries.get_card(bought["card_id"], store=store)
    assert (card["status"], card["refunded_amount"]) == ("refunded", 499_999)


# --- through HTTP, the gateway and the real merchant and escrow services ------------------
@pytest.mark.broker
def test_the_trap_product_is_refused_over_http_and_an_old_one_is_not_sold(tmp_path, amqp_uri):
    from services.gateway.app import create_app
    from services.merchant.application.projections import PRODUCTS
    from services.merchant.application.store import CODEC as MERCHANT_CODEC
    from tests.support.gateway import auth, gateway_settings
    from tests.support.harness import start_service, stop, wait_until
    from tests.support.merchants import onboard

    services = [start_service(name, tmp_path, amqp_uri) for name in ("merchant", "escrow")]
    app = create_app(gateway_settings(tmp_path, amqp_uri))
    client = app.test_client()
    try:
        consumer = auth(client, "consumer", "c-1")
        wait_until(
            lambda: (
                client.get("/api/v1/consumers/me/cards", headers=consumer).status_code == 200
                and client.get("/api/v1/merchants").status_code == 200
            ),
            timeout=60,
            what="the merchant and escrow services",
        )
        merchant_id = onboard(client, industry="retail")
        shop = auth(client, "merchant", merchant_id)
        url = f"/api/v1/merchants/{merchant_id}/products"
        trap = client.post(
            url,
            json={"type": "period", "name": "Forever", "price": 500_000, "period_days": HUGE},
            headers=shop,
        )
        assert trap.status_code == 422, trap.get_json()
        error = trap.get_json()["error"]
        assert error["code"] == "policy_breach"
        assert [{k: str(v) for k, v in b.items()} for b in error["details"]["breaches"]] == [
            {
                "rule": "cards.max_period_days",
                "field": "period_days",
                "limit": str(POLICY.cards.max_period_days),
                "value": str(HUGE),
            }
        ]
        uses = client.post(
            url,
            json={
                "type": "count",
                "name": "Lots",
                "price": 1_000,
                "uses": HUGE,
                "validity_days": 30,
            },
            headers=shop,
        )
        assert uses.status_code == 422
        assert [b["rule"] for b in uses.get_json()["error"]["details"]["breaches"]] == [
            "cards.max_uses"
        ]

        # A product stored before the caps existed, as the old policy let it in.
        legacy = ProductCreated(
            "p-legacy", merchant_id, "period", "Forever", 500_000, 0, 0, 0, HUGE, "retail"
        )
        merchants = SqliteEventStore(tmp_path / "merchant.db")
        with merchants.unit_of_work() as uow:
            uow.append("product-p-legacy", [MERCHANT_CODEC.encode(legacy)], 0)
            uow.put_view(PRODUCTS, "p-legacy", dict(legacy.__dict__))
        merchants.close()
        bought = client.post("/api/v1/cards", json={"product_id": "p-legacy"}, headers=consumer)
        assert bought.status_code == 422, bought.get_json()
        assert bought.get_json()["error"]["code"] == "policy_breach"
        assert client.get("/api/v1/consumers/me/cards", headers=consumer).get_json()["items"] == []
        deposits = [
            line
            for f in tmp_path.rglob("*.jsonl")
            for line in f.read_text().splitlines()
            if '"deposit"' in line
        ]
        assert deposits == [], "refused before the bank was asked for anything"
    finally:
        app.config["RPC_POOL"].close()
        for service in services:
            stop(service)
