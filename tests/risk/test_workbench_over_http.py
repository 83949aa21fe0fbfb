"""The regulator's workbench through HTTP, over the real merchant, escrow and risk services on
RabbitMQ: reinstating a delisted merchant (off the red list unless still red), the watch list
by code and department, and a default's progress from proposal to the last card refunded."""

from __future__ import annotations

import pytest

from tests.support.gateway import auth
from tests.support.harness import wait_until
from tests.support.merchants import onboard
from tests.support.risk_platform import risk_platform, shop_with_customers

pytestmark = pytest.mark.broker


@pytest.fixture
def platform(tmp_path, amqp_uri):
    with risk_platform(tmp_path, amqp_uri) as running:
        yield running


def error_of(answer) -> tuple[int, str]:
    return answer.status_code, answer.get_json()["error"]["code"]


def test_reinstating_and_the_watch_list(platform):
    client, rpc = platform
    regulator = auth(client, "regulator", "r-zhang")
    gym = onboard(client, name="海滨健身", industry="fitness")
    school = onboard(client, name="启明教育", industry="education")
    for merchant_id in (gym, school):
        rpc.merchant.change_status(merchant_id, "delisted", "red too long", "risk:deadline")
    flagged = client.post(
        f"/api/v1/merchants/{school}/flags",
        json={"flag": "abnormal_operations", "on": True, "source": "samr"},
        headers=regulator,
    )
    assert flagged.status_code == 200, flagged.get_json()

    def watched(query: str) -> list[str]:
        answer = client.get(f"/api/v1/lists/watch?{query}", headers=regulator)
        assert answer.status_code == 200, answer.get_json()
        return [e["merchant_id"] for e in answer.get_json()["items"]]

    def school_entry() -> dict | None:
        items = client.get("/api/v1/lists/watch?code=red", headers=regulator).get_json()["items"]
        return next((e for e in items if e["merchant_id"] == school), None)

    # The delisting and the flag are two events: the school is red (and listed) after the
    # first, and its reasons name both only once the second is folded too.
    entry = wait_until(
        lambda: (
            (found := school_entry())
            and {r["indicator"] for r in found["reasons"]}
            == {"status:delisted", "flag:abnormal_operations"}
            and found
        ),
        timeout=30,
        what="the listed school on the watch list with both reasons",
    )
    assert school in watched("code=red&department=education")
    wait_until(
        lambda: gym in watched("code=red&department=sports"),
        timeout=30,
        what="the delisted gym on the watch list",
    )
    assert gym not in watched("department=education")
    assert entry["name"] == "启明教育" and entry["department"] == "education"
    sports = client.get("/api/v1/lists/red-black?department=sports").get_json()["red"]
    assert [(e["merchant_id"], e["department"], e["industry"]) for e in sports] == [
        (gym, "sports", "fitness")
    ]

    still_red = client.post(
        f"/api/v1/merchants/{school}/reinstate", json={"reason": "整改完成"}, headers=regulator
    )
    assert error_of(still_red) == (422, "still_red")
    key = {**regulator, "Idempotency-Key": "reinstate-gym-1"}
    done = client.post(
        f"/api/v1/merchants/{gym}/reinstate", json={"reason": "整改完成"}, headers=key
    )
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "active" and done.get_json()["reinstated_at"]
    again = client.post(
        f"/api/v1/merchants/{gym}/reinstate", json={"reason": "整改完成"}, headers=key
    )
    assert again.get_json() == done.get_json(), "the same key answers the same"
    twice = client.post(
        f"/api/v1/merchants/{gym}/reinstate", json={"reason": "整改完成"}, headers=regulator
    )
    assert error_of(twice) == (409, "not_delisted")
    nobody = client.post(
        "/api/v1/merchants/m-nobody/reinstate", json={"reason": "x"}, headers=regulator
    )
    assert nobody.status_code == 404
    wait_until(
        lambda: not client.get("/api/v1/lists/red-black?department=sports").get_json()["red"],
        timeout=30,
        what="the reinstated gym off the red list",
    )
    assert gym not in watched("code=red")
    assert client.get(f"/api/v1/merchants/{gym}").get_json()["status"] == "active"
    bad = client.get("/api/v1/lists/watch?department=police", headers=regulator)
    assert bad.status_code == 400


def test_a_defaults_progress_from_none_to_finished(platform):
    client, _ = platform
    merchant_id, cards = shop_with_customers(client, 3)
    url = f"/api/v1/merchants/{merchant_id}/default"

    def progress(who="r-zhang") -> dict:
        answer = client.get(f"{url}/progress", headers=auth(client, "regulator", who))
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    assert progress() == {
        "merchant_id": merchant_id,
        "status": "none",
        "cards_total": 0,
        "cards_refunded": 0,
        "amount_refunded": 0,
    }
    proposed = client.post(
        url, json={"reason": "跑路"}, headers=auth(client, "regulator", "r-zhang")
    )
    assert proposed.status_code == 202, proposed.get_json()
    assert progress()["status"] == "proposed"
    confirmed = client.post(url, json={"reason": "跑路"}, headers=auth(client, "regulator", "r-li"))
    assert confirmed.status_code == 200, confirmed.get_json()
    final = progress()
    assert final["status"] == "finished"
    assert final["cards_refunded"] == final["cards_total"] == len(cards)
    assert final["amount_refunded"] == confirmed.get_json()["amount_refunded"] > 0
    assert (
        client.get(
            "/api/v1/merchants/m-nobody/default/progress",
            headers=auth(client, "regulator", "r-zhang"),
        ).status_code
        == 404
    )
