"""What reaches the risk service when the merchant service refuses a status change, over real
RabbitMQ: the merchant's RPCs refuse with `ServiceError`, never nameko's `RemoteError`.

The adapter used to catch only RemoteError, so delisting a closed merchant failed with the
merchant's refusal instead of leaving it unchanged; it now raises the refusal as the domain
error it was, and sanctions.impose decides what it means."""

from __future__ import annotations

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from services.domain_errors import Conflict
from services.remote_errors import ServiceError
from services.risk.adapters.merchant_rpc import MerchantStatusOverRpc
from services.risk.application import sanctions
from tests.support.harness import start_service, stop, wait_until
from tests.support.merchants import application, fresh_uscc

pytestmark = pytest.mark.broker


@pytest.fixture
def merchant_rpc(tmp_path, amqp_uri):
    service = start_service("merchant", tmp_path, amqp_uri)
    rpc = ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30)
    proxy = rpc.start()
    try:
        wait_until(lambda: _answers(proxy), timeout=60, what="the merchant service")
        yield proxy.merchant
    finally:
        rpc.stop()
        stop(service)


def _answers(proxy) -> bool:
    try:
        proxy.merchant.directory()
        return True
    except Exception:
        return False


def closed_merchant(merchant) -> str:
    made = merchant.apply(application(uscc=fresh_uscc()), "operator:op-1")
    merchant.approve(made["merchant_id"], "operator:op-2")
    merchant.change_status(made["merchant_id"], "closed", "retired", "operator:op-1")
    return made["merchant_id"]


def test_the_merchant_refuses_with_a_service_error(merchant_rpc):
    merchant_id = closed_merchant(merchant_rpc)
    with pytest.raises(ServiceError) as refused:
        merchant_rpc.change_status(merchant_id, "delisted", "still red", "risk:test")
    assert (refused.value.kind, refused.value.code) == ("conflict", "invalid_transition")


def test_the_adapter_raises_the_refusal_as_the_domain_error_it_was(merchant_rpc):
    merchant_id = closed_merchant(merchant_rpc)
    with pytest.raises(Conflict) as refused:
        MerchantStatusOverRpc(merchant_rpc).change_status(
            merchant_id, "delisted", "still red", "risk:test"
        )
    assert refused.value.code == "invalid_transition"
    assert refused.value.message == "a closed merchant cannot become delisted"


def test_delisting_a_closed_merchant_leaves_it_unchanged(merchant_rpc):
    merchants = MerchantStatusOverRpc(merchant_rpc)
    closed = closed_merchant(merchant_rpc)
    assert sanctions.impose(merchants, closed, "delisted", "still red", "risk:test") == "unchanged"
    assert merchant_rpc.get(closed)["status"] == "closed"
    made = merchant_rpc.apply(application(uscc=fresh_uscc()), "operator:op-1")
    merchant_rpc.approve(made["merchant_id"], "operator:op-2")
    assert (
        sanctions.impose(merchants, made["merchant_id"], "delisted", "still red", "risk:test")
        == "delisted"
    )
