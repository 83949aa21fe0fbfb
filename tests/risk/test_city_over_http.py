"""The regulator's city figures and the public 红黑榜 through HTTP, over the real merchant,
escrow and risk services on RabbitMQ: both follow the published events."""

from __future__ import annotations

from datetime import date, timedelta

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


def assert_error(answer, status: int, code: str) -> None:
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (status, code), (
        answer.get_json()
    )


def by_key(body: dict) -> dict:
    return {item["key"]: item for item in body["items"]}


def test_the_city_and_the_lists_follow_the_events(platform):
    client, _ = platform
    regulator = auth(client, "regulator", "r-zhang")
    gym = onboard(client, name="海滨健身", industry="fitness")
    school = onboard(client, name="启明教育", industry="education")

    def city():
        body = client.get("/api/v1/stats/city?by=industry", headers=regulator).get_json()
        rows = by_key(body)
        ready = rows.get("fitness", {}).get("merchants") and rows.get("education", {}).get(
            "merchants"
        )
        return body if ready else None

    body = wait_until(city, timeout=30, what="both merchants in the city's figures")
    assert body["total"]["merchants"] == sum(i["merchants"] for i in body["items"]) >= 2
    assert body["total"]["by_code"]["green"] + body["total"]["by_code"]["yellow"] >= 2

    flagged = client.post(
        f"/api/v1/merchants/{gym}/flags",
        json={"flag": "dishonest_debtor", "on": True, "source": "court list"},
        headers=regulator,
    )
    assert flagged.status_code == 200, flagged.get_json()

    def black():
        lists = client.get("/api/v1/lists/red-black").get_json()
        return next((e for e in lists["black"] if e["merchant_id"] == gym), None)

    entry = wait_until(black, timeout=30, what="the flagged merchant on the black list")
    assert entry["name"] == "海滨健身"
    assert entry["reason_code"] == "dishonest_debtor" and "失信" in entry["reason"]
    lists = client.get("/api/v1/lists/red-black").get_json()
    assert school not in [e["merchant_id"] for e in lists["red"] + lists["black"]]
    assert lists["next_cursor"] == {"red": None, "black": None}
    rows = by_key(client.get("/api/v1/stats/city", headers=regulator).get_json())
    assert rows["fitness"]["by_code"]["red"] == 1

    today = date.today().isoformat()
    week_ago = (date.today() - timedelta(days=6)).isoformat()
    history = client.get(
        f"/api/v1/merchants/{gym}/health/history?from={week_ago}&to={today}", headers=regulator
    ).get_json()
    assert history["days"][-1]["date"] == today and history["days"][-1]["code"] == "red"
    assert [c["code"] for c in history["changes"]][-1] == "red"
    assert history["thresholds"]["coverage_percent"]["higher_is_better"] is True
    itself = client.get(
        f"/api/v1/merchants/{gym}/health/history?from={today}&to={today}",
        headers=auth(client, "merchant", gym),
    )
    assert itself.status_code == 200
    other = client.get(
        f"/api/v1/merchants/{gym}/health/history?from={today}&to={today}",
        headers=auth(client, "merchant", school),
    )
    assert_error(other, 404, "not_found")
    assert_error(
        client.get(f"/api/v1/merchants/{gym}/health/history?from={today}", headers=regulator),
        400,
        "invalid_input",
    )

    days = client.get(
        f"/api/v1/stats/city?by=day&from={today}&to={today}", headers=regulator
    ).get_json()
    assert [d["key"] for d in days["items"]] == [today]
    assert days["total"]["merchants"] == body["total"]["merchants"]


def test_the_lists_page_one_list_at_a_time(platform):
    client, _ = platform
    regulator = auth(client, "regulator", "r-zhang")
    shops = [onboard(client, name=f"店{i}") for i in range(3)]
    for shop in shops:
        client.post(
            f"/api/v1/merchants/{shop}/flags",
            json={"flag": "dishonest_debtor", "on": True, "source": "court list"},
            headers=regulator,
        )
    wait_until(
        lambda: len(client.get("/api/v1/lists/red-black").get_json()["black"]) == 3,
        timeout=30,
        what="three merchants on the black list",
    )
    first = client.get("/api/v1/lists/red-black?limit=2").get_json()
    assert len(first["black"]) == 2 and first["next_cursor"]["black"]
    cursor = first["next_cursor"]["black"]
    rest = client.get(f"/api/v1/lists/red-black?list=black&cursor={cursor}").get_json()
    assert rest["red"] == [] and len(rest["black"]) == 1
    seen = {e["merchant_id"] for e in first["black"] + rest["black"]}
    assert seen == set(shops)
    # A cursor pages the list it came from only.
    assert_error(
        client.get(f"/api/v1/lists/red-black?list=red&cursor={cursor}"), 400, "invalid_cursor"
    )
    assert_error(client.get(f"/api/v1/lists/red-black?cursor={cursor}"), 400, "invalid_cursor")


BAD_CITY_QUERIES = (
    "by=street",
    "by=day",
    "by=day&from=2026-09-02",
    "by=day&from=2026-09-02&to=2026-09-01",
    "by=day&from=2024-01-01&to=2026-01-01",
    "by=day&from=yesterday&to=2026-09-01",
)


def test_bad_city_queries_are_400_and_the_city_is_the_regulators(platform):
    client, _ = platform
    regulator = auth(client, "regulator", "r")
    for query in BAD_CITY_QUERIES:
        answer = client.get(f"/api/v1/stats/city?{query}", headers=regulator)
        assert answer.status_code == 400, (query, answer.get_json())
    assert_error(
        client.get("/api/v1/stats/city?by=day&from=2026-09-02&to=2026-09-01", headers=regulator),
        400,
        "invalid_range",
    )
    consumer = auth(client, "consumer", "c-1")
    assert client.get("/api/v1/stats/city", headers=consumer).status_code == 403
