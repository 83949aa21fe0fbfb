"""Finding 13: a defaulted merchant still received payouts and redemption requests.

After a regulator declared a merchant defaulted, the next settlement run paid it the money
released to it before the default (confirmed spends, a period card's served days), and its
cards still took redemption requests: a card whose payment the bank confirmed after the
default was activated, redeemable, at a merchant that no longer serves anyone.

Now the escrow records the default before touching any card. Settlement pays a defaulted
merchant nothing: what it was owed is withheld (`escrow.PayoutWithheld.v1`) and stays in the
escrow account for the regulator to apply to what the merchant owes its consumers (the
up-front shares its default did not return), so it is neither lost nor paid twice. A
redemption request for its cards is refused with 422 `merchant_defaulted`, and a deposit
confirmed after the default goes back to the consumer.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from services.domain_errors import BusinessRuleViolation
from services.escrow.adapters.simulated_bank import SimulatedBank
from services.escrow.application import (
    commands,
    defaults,
    projections,
    queries,
    scheduled_work,
    settlements,
)

POLICY = load_policy()
T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
PRODUCTS = {
    "count": {
        "merchant_id": "m-1",
        "type": "count",
        "price": 80_000,
        "bonus": 0,
        "uses": 10,
        "validity_days": 180,
        "period_days": 0,
    },
    "period": {
        "merchant_id": "m-1",
        "type": "period",
        "price": 90_000,
        "bonus": 0,
        "uses": 0,
        "validity_days": 0,
        "period_days": 90,
    },
    "other": {
        "merchant_id": "m-2",
        "type": "count",
        "price": 10_000,
        "bonus": 0,
        "uses": 10,
        "validity_days": 180,
        "period_days": 0,
    },
}


class Products:
    def product_for_sale(self, product_id):
        return PRODUCTS[product_id]


class LaterBank(SimulatedBank):
    """Confirms deposits later, through the bank's own call."""

    def request_deposit(self, payment_id, card_id, amount):
        super().request_deposit(payment_id, card_id, amount)
        return False


@pytest.fixture
def env(tmp_path):
    store = SqliteEventStore(tmp_path / "escrow.db")
    clock = {"now": T0}
    bank = SimulatedBank(tmp_path / "bank", clock=lambda: clock["now"])
    yield store, bank, clock, tmp_path
    store.close()


def buy(store, bank, product, consumer, now):
    return commands.purchase_card(
        consumer, product, store=store, merchants=Products(), bank=bank, policy=POLICY, now=now
    )


def test_no_payout_and_no_redemption_after_a_default(env):
    store, bank, clock, tmp_path = env
    count = buy(store, bank, "count", "c-1", T0)["card_id"]
    period = buy(store, bank, "period", "c-2", T0)["card_id"]
    bystander = buy(store, bank, "other", "c-3", T0)["card_id"]

    day12 = T0 + timedelta(days=12)  # past cooling-off: the period card earned 12 days
    clock["now"] = day12
    scheduled_work.sweep(store=store, bank=bank, policy=POLICY, now=day12)
    for card_id, merchant, consumer in ((count, "m-1", "c-1"), (bystander, "m-2", "c-3")):
        hold = commands.request_redemption(
            card_id, merchant, value=0, uses=2, store=store, policy=POLICY, now=day12
        )
        commands.confirm_redemption(hold["redemption_id"], consumer, store=store, now=day12)
    released = sum(queries.get_card(c, store=store)["released_amount"] for c in (count, period))
    assert released == 16_000 + 12_000
    paid_before = sum(p["amount"] for p in queries.settlements("m-1", store=store)["items"])
    # Bought just before the default: the bank has the money but has not confirmed it yet.
    late = buy(
        store, LaterBank(tmp_path / "bank", clock=lambda: clock["now"]), "count", "c-4", day12
    )
    assert late["status"] == "pending_payment"

    result = defaults.default_merchant(
        "m-1", "absconded", "regulator:r-1", store=store, bank=bank, policy=POLICY, now=day12
    )
    assert result["cards_refunded"] == 2

    # The bank confirms the late card's payment after the default: the money goes back.
    with pytest.raises(BusinessRuleViolation) as refused:
        commands.confirm_payment(
            late["payment"]["payment_id"], None, store=store, bank=bank, policy=POLICY, now=day12
        )
    assert refused.value.code == "merchant_defaulted"
    assert refused.value.details["returned_amount"] == 80_000

    for days in (13, 14, 30):
        clock["now"] = T0 + timedelta(days=days)
        scheduled_work.sweep(store=store, bank=bank, policy=POLICY, now=clock["now"])
    paid = queries.settlements("m-1", store=store)["items"]
    assert sum(p["amount"] for p in paid) == paid_before, "no payout after the default"
    held_back = settlements.withheld("m-1", store=store)
    assert held_back["amount"] == released - paid_before, "withheld, not lost"
    assert store.list_views(projections.UNSETTLED, "", 100) == [], "nothing left owed to pay"
    withheld_events = [
        r for r in store.read_stream("payouts-m-1") if r.type == "escrow.PayoutWithheld.v1"
    ]
    assert sum(r.data["amount"] for r in withheld_events) == held_back["amount"]

    for card_id in (count, period):
        with pytest.raises(BusinessRuleViolation) as refused:
            commands.request_redemption(
                card_id,
                "m-1",
                value=0,
                uses=1 if card_id != period else 0,
                store=store,
                policy=POLICY,
                now=clock["now"],
            )
        assert refused.value.code == "merchant_defaulted"

    late_card = queries.get_card(late["card_id"], store=store)
    assert (late_card["status"], late_card["refunded_amount"]) == ("refunded", 80_000)

    movements = Counter()
    for day in range(0, 31):
        for m in bank.statement((T0 + timedelta(days=day)).date().isoformat()):
            movements[(m["kind"], m["account"])] += m["amount"]
    assert movements[("payout", "m-1")] == paid_before, "the bank paid the merchant nothing"
    assert movements[("payout", "m-2")] == 2_000, "other merchants are paid as before"
    for card_id in (count, period, late["card_id"]):
        card = queries.get_card(card_id, store=store)
        assert card["deposited"] == card["released_amount"] + card["refunded_amount"]
        assert card["escrow_held"] == 0


@pytest.mark.broker
def test_redemption_requests_for_a_defaulted_merchants_cards_get_422(tmp_path, amqp_uri):
    from services.gateway.app import create_app
    from tests.support.gateway import auth, gateway_settings
    from tests.support.harness import start_service, stop, wait_until
    from tests.support.merchants import onboard

    services = [start_service(name, tmp_path, amqp_uri) for name in ("merchant", "escrow")]
    app = create_app(gateway_settings(tmp_path, amqp_uri))
    client = app.test_client()
    try:
        owner = auth(client, "consumer", "c-1")
        wait_until(
            lambda: (
                client.get("/api/v1/consumers/me/cards", headers=owner).status_code == 200
                and client.get("/api/v1/merchants").status_code == 200
            ),
            timeout=60,
            what="the merchant and escrow services",
        )
        merchant_id = onboard(client)
        shop = auth(client, "merchant", merchant_id)
        product = client.post(
            f"/api/v1/merchants/{merchant_id}/products",
            json={
                "type": "count",
                "name": "10 lessons",
                "price": 80_000,
                "uses": 10,
                "validity_days": 180,
            },
            headers=shop,
        ).get_json()
        card_id = client.post(
            "/api/v1/cards", json={"product_id": product["product_id"]}, headers=owner
        ).get_json()["card_id"]
        # A default takes two regulators: one proposes it, another confirms it.
        proposed = client.post(
            f"/api/v1/merchants/{merchant_id}/default",
            json={"reason": "absconded"},
            headers=auth(client, "regulator", "r-0"),
        )
        assert proposed.status_code == 202, proposed.get_json()
        declared = client.post(
            f"/api/v1/merchants/{merchant_id}/default",
            json={"reason": "absconded"},
            headers=auth(client, "regulator", "r-1"),
        )
        assert declared.status_code == 200, declared.get_json()
        asked = client.post(f"/api/v1/cards/{card_id}/redemptions", json={"uses": 1}, headers=shop)
        assert asked.status_code == 422, asked.get_json()
        assert asked.get_json()["error"]["code"] == "merchant_defaulted"
    finally:
        app.config["RPC_POOL"].close()
        for service in services:
            stop(service)
