"""A regulator's disposition of an alert through HTTP and the real merchant and risk services
on RabbitMQ: a delisting takes effect on the merchant, and a merchant closed meanwhile stays
closed while the alert is resolved (the merchant's refusal used to fail the step: 409)."""

from __future__ import annotations

import pytest

from tests.support.gateway import auth
from tests.support.harness import wait_until
from tests.support.merchants import onboard
from tests.support.risk_platform import risk_platform

pytestmark = pytest.mark.broker


@pytest.fixture
def platform(tmp_path, amqp_uri):
    with risk_platform(tmp_path, amqp_uri) as running:
        yield running


def red_alert(client, regulator: dict, merchant_id: str) -> str:
    """A listed debtor is a hard flag: the merchant is red at once, with an alert."""
    flagged = client.post(
        f"/api/v1/merchants/{merchant_id}/flags",
        json={"flag": "dishonest_debtor", "on": True, "source": "court list"},
        headers=regulator,
    )
    assert flagged.status_code == 200, flagged.get_json()

    def alert():
        items = client.get("/api/v1/alerts", headers=regulator).get_json()["items"]
        return next((a["alert_id"] for a in items if a["merchant_id"] == merchant_id), None)

    return wait_until(alert, timeout=30, what=f"an alert on {merchant_id}")


def resolve(client, regulator: dict, alert_id: str, disposition: str):
    url = f"/api/v1/alerts/{alert_id}"
    assert client.post(f"{url}/acknowledge", headers=regulator).status_code == 200
    return client.post(
        f"{url}/resolve",
        json={"disposition": disposition, "note": "decided on site"},
        headers=regulator,
    )


def status(client, merchant_id: str) -> str:
    return client.get(f"/api/v1/merchants/{merchant_id}").get_json()["status"]


def test_a_delisting_disposition_delists_and_spares_a_closed_merchant(platform):
    client, rpc = platform
    regulator = auth(client, "regulator", "r-zhang")
    open_shop, closed_shop = onboard(client), onboard(client)
    open_alert = red_alert(client, regulator, open_shop)
    closed_alert = red_alert(client, regulator, closed_shop)

    delisted = resolve(client, regulator, open_alert, "delisted")
    assert delisted.status_code == 200, delisted.get_json()
    assert status(client, open_shop) == "delisted"

    rpc.merchant.change_status(closed_shop, "closed", "the owner retired", "operator:op-1")
    spared = resolve(client, regulator, closed_alert, "delisted")
    assert spared.status_code == 200, spared.get_json()
    assert spared.get_json()["status"] == "resolved"
    assert status(client, closed_shop) == "closed"
