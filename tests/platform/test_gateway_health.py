"""/healthz names what is down, with 503, and never a stack trace."""

import pytest

from services.gateway.app import create_app
from tests.support.gateway import gateway_settings

pytestmark = pytest.mark.broker


def test_healthz_is_503_and_names_services_that_do_not_answer(amqp_uri, tmp_path):
    app = create_app(gateway_settings(tmp_path, amqp_uri, rpc_timeout=2))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["dependencies"]["rabbitmq"] == {"status": "ok"}
    for service in ("merchant", "escrow", "risk", "inspection", "ledger"):
        assert body["dependencies"][service]["status"] == "down"
    app.config["RPC_POOL"].close()


def test_healthz_is_503_when_the_broker_is_unreachable(tmp_path):
    from devenv.ports import free_port

    app = create_app(
        gateway_settings(tmp_path, f"amqp://guest:guest@127.0.0.1:{free_port()}/", rpc_timeout=2)
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["dependencies"]["rabbitmq"]["status"] == "down"


def test_unknown_route_gets_the_contract_error_body(amqp_uri, tmp_path):
    app = create_app(gateway_settings(tmp_path, amqp_uri))
    response = app.test_client().get("/no/such/thing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
