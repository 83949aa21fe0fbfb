"""A real ledger service (nameko run) on the test's own vhost (events to feed it:
tests/support/ledger_events.py)."""

from __future__ import annotations

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from tests.support.harness import start_nameko, stop, wait_until


@pytest.fixture
def ledger_service(tmp_path, amqp_uri):
    process = start_nameko(
        "ledger.service:LedgerService",
        {
            "AMQP_URI": amqp_uri,
            "LEDGER_DIR": str(tmp_path / "ledger"),
            "LEDGER_BATCH_MAX": 50,
            "max_workers": 50,
        },
        tmp_path,
    )
    rpc = ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=20)
    proxy = rpc.start()
    wait_until(lambda: _alive(proxy), timeout=60, what="the ledger service")
    yield proxy
    rpc.stop()
    stop(process)


def _alive(proxy) -> bool:
    try:
        return proxy.ledger.health()["status"] == "ok"
    except Exception:  # noqa: BLE001 - not up yet
        return False
