"""The merchant's `declare_default` RPC with the real escrow service behind it, on RabbitMQ:
the answer the gateway maps (202 for the proposal, 200 with the refund's totals)."""

from __future__ import annotations

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from tests.support.harness import start_service, stop, wait_until
from tests.support.merchants import application, fresh_uscc

pytestmark = pytest.mark.broker


@pytest.fixture
def rpc(tmp_path, amqp_uri):
    services = [start_service(name, tmp_path, amqp_uri) for name in ("merchant", "escrow")]
    cluster = ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30)
    proxy = cluster.start()
    try:
        wait_until(lambda: _answers(proxy), timeout=60, what="the merchant and escrow services")
        yield proxy
    finally:
        cluster.stop()
        for service in services:
            stop(service)


def _answers(proxy) -> bool:
    try:
        return bool(proxy.merchant.health() and proxy.escrow.health())
    except Exception:
        return False


def test_a_confirmed_default_answers_what_the_escrow_refunded(rpc):
    made = rpc.merchant.apply(application(uscc=fresh_uscc()), "operator:op-1")
    merchant_id = made["merchant_id"]
    rpc.merchant.approve(merchant_id, "operator:op-2")
    product = rpc.merchant.create_product(
        merchant_id,
        {"type": "count", "name": "10 lessons", "price": 80_000, "uses": 10, "validity_days": 180},
    )
    rpc.escrow.purchase("c-1", product["product_id"])

    proposed = rpc.merchant.declare_default(merchant_id, "absconded", "regulator:r-1")
    assert proposed["status"] == "default_proposed"
    assert (proposed["merchant_id"], proposed["reason"], proposed["proposed_by"]) == (
        merchant_id,
        "absconded",
        "regulator:r-1",
    )
    done = rpc.merchant.declare_default(merchant_id, "confirmed", "regulator:r-2")
    assert done == {
        "merchant_id": merchant_id,
        "status": "defaulted",
        "cards_refunded": 1,
        "amount_refunded": 80_000,
    }
    assert rpc.merchant.declare_default(merchant_id, "again", "regulator:r-3") == done, (
        "a repeat resumes the refund, which has nothing left to refund"
    )
