"""Finding 8: production started unsafe.

`PLATFORM_MODE` unset meant demo: dev-login for every role and the demo clock. And every mode
ran the simulated bank, which confirms every deposit without any payment.

Now the code's default is production, and `make run`, the tests and the benches choose demo
explicitly. The escrow picks its bank adapter by `BANK_ADAPTER`; the only one built, the
simulated bank, runs in demo mode only, so a production escrow refuses to start until a real
adapter is configured.
"""

from __future__ import annotations

import pytest

from services import clock
from services.escrow.adapters.bank_choice import BankAdapterRefused, choose_bank
from services.gateway import signing_key
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from services.platform_mode import platform_mode
from tests.support.harness import start_service, stop, wait_until


def test_an_unset_mode_is_production(monkeypatch, tmp_path):
    monkeypatch.delenv("PLATFORM_MODE", raising=False)
    assert platform_mode() == "production"
    assert GatewaySettings(amqp_uri="amqp://unused").mode == "production"
    environ = {
        "AMQP_URI": "amqp://unused",
        "GATEWAY_JWT_KEY_FILE": str(tmp_path / "jwt.pem"),
        "GATEWAY_IDEMPOTENCY_DB": str(tmp_path / "idem.db"),
        "GATEWAY_REVOCATION_DB": str(tmp_path / "revoked.db"),
    }
    settings = GatewaySettings.from_env(environ)
    assert settings.mode == "production"
    with pytest.raises(FileNotFoundError):
        create_app(settings)  # production never makes its own signing key
    signing_key.create(tmp_path / "jwt.pem", "production")
    client = create_app(settings).test_client()
    assert (
        client.post(
            "/api/v1/auth/dev-login", json={"role": "operator", "subject": "me"}
        ).status_code
        == 404
    )
    monkeypatch.setenv("PLATFORM_CLOCK_FILE", str(tmp_path / "clock.json"))
    assert clock.clock_file() is None, "the demo clock is not production's"


def test_the_simulated_bank_runs_in_demo_mode_only(tmp_path):
    def bank(mode, adapter):
        return choose_bank(mode, adapter, tmp_path / "statements", clock=clock.now)

    assert bank("demo", None).request_deposit("p-1", "card-1", 100) is True
    assert bank("demo", "simulated") is not None
    for adapter in (None, "", "simulated", "made-up"):
        with pytest.raises(BankAdapterRefused):
            bank("production", adapter)
    with pytest.raises(BankAdapterRefused):
        bank(platform_mode({}), None)


@pytest.mark.broker
@pytest.mark.parametrize("adapter", [None, "simulated"])
def test_a_production_escrow_refuses_to_start_on_the_simulated_bank(
    adapter, tmp_path, amqp_uri, monkeypatch
):
    monkeypatch.setenv("PLATFORM_MODE", "production")
    service = start_service("escrow", tmp_path, amqp_uri, BANK_ADAPTER=adapter)
    try:
        wait_until(
            lambda: service.poll() is not None,
            timeout=60,
            what="the production escrow to refuse to start",
        )
    finally:
        stop(service)
    assert service.returncode != 0
    log = "".join(path.read_text() for path in tmp_path.glob("service*.log"))
    assert "BANK_ADAPTER" in log, log[-2000:]


def test_make_run_chooses_demo_explicitly(tmp_path, monkeypatch):
    from platformrun.__main__ import build_children

    monkeypatch.delenv("PLATFORM_MODE", raising=False)
    children = build_children(tmp_path / "var", "amqp://unused", 8000)
    assert {child.env.get("PLATFORM_MODE") for child in children} == {"demo"}
