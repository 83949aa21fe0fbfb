"""The alert queue through HTTP and the real merchant and risk services on RabbitMQ: a
regulator's token carries its department, the queue filters by industry, department and
assignee a page at a time, assignment and every step record the department, and two facets
at once are refused."""

from __future__ import annotations

import hashlib

import pytest

from tests.support.harness import wait_until
from tests.support.merchants import onboard
from tests.support.risk_platform import risk_platform

pytestmark = pytest.mark.broker


@pytest.fixture
def platform(tmp_path, amqp_uri):
    with risk_platform(tmp_path, amqp_uri) as running:
        yield running


def login(client, subject: str, department: str | None = None) -> dict:
    body = {"role": "regulator", "subject": subject}
    if department:
        body["department"] = department
    answer = client.post("/api/v1/auth/dev-login", json=body)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json().get("department") == department
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def listed(client, headers, query: str, limit: int = 2) -> list[dict]:
    """Every page of /alerts?<query>, following next_cursor."""
    items, cursor = [], ""
    while True:
        url = f"/api/v1/alerts?{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200, answer.get_json()
        items += answer.get_json()["items"]
        cursor = answer.get_json()["next_cursor"]
        if cursor is None:
            return items


def test_the_queue_filters_pages_assigns_and_records_departments(platform):
    client, _ = platform
    chief = login(client, "r-chief", "samr")
    sports = login(client, "r-li", "sports")
    shops = [onboard(client, industry=i) for i in ("fitness", "catering", "fitness", "education")]
    for shop in shops:  # a listed debtor is red at once, with an alert
        flagged = client.post(
            f"/api/v1/merchants/{shop}/flags",
            json={"flag": "dishonest_debtor", "on": True, "source": "court list"},
            headers=chief,
        )
        assert flagged.status_code == 200, flagged.get_json()

    def ours():
        found = [a for a in listed(client, chief, "status=open", 3) if a["merchant_id"] in shops]
        return found if len(found) == len(shops) else None

    alerts = wait_until(ours, timeout=30, what="the four alerts")
    assert [a["merchant_id"] for a in alerts] == shops, "oldest first, over pages of 3"
    first = alerts[0]
    assert (first["industry"], first["department"], first["code"]) == ("fitness", "sports", "red")
    assert first["sla_hours"] == 24 and first["overdue"] is False and first["assignee"] is None
    assert first["merchant_name"]

    gyms = listed(client, sports, "department=sports&code=red", 1)
    assert [a["merchant_id"] for a in gyms if a["merchant_id"] in shops] == [shops[0], shops[2]]
    fitness = listed(client, sports, "industry=fitness", 1)
    assert [a["alert_id"] for a in fitness] == [a["alert_id"] for a in gyms]

    alert_id = first["alert_id"]
    assigned = client.post(
        f"/api/v1/alerts/{alert_id}/assign", json={"assignee": "r-li"}, headers=chief
    )
    assert assigned.status_code == 200, assigned.get_json()
    assert assigned.get_json()["assignments"][0] | {"at": None} == {
        "assignee": "r-li",
        "by": "regulator:r-chief",
        "department": "samr",
        "at": None,
    }
    mine = listed(client, sports, "assignee=r-li")
    assert [a["alert_id"] for a in mine] == [alert_id]
    assert alert_id not in [a["alert_id"] for a in listed(client, chief, "assignee=none", 100)]

    url = f"/api/v1/alerts/{alert_id}"
    assert client.post(f"{url}/acknowledge", headers=sports).status_code == 200
    verified = client.post(
        f"{url}/verify",
        json={"note": "关门了", "evidence_sha256": hashlib.sha256(b"photo").hexdigest()},
        headers=sports,
    )
    assert verified.status_code == 200, verified.get_json()
    resolved = client.post(
        f"{url}/resolve", json={"disposition": "rectification_ordered"}, headers=chief
    )
    assert resolved.status_code == 200, resolved.get_json()
    assert [(s["step"], s["by"], s["department"]) for s in resolved.get_json()["steps"]] == [
        ("acknowledged", "regulator:r-li", "sports"),
        ("verified", "regulator:r-li", "sports"),
        ("resolved", "regulator:r-chief", "samr"),
    ]
    done = listed(client, chief, "status=resolved&assignee=r-li")
    assert [a["alert_id"] for a in done] == [alert_id]
    again = client.post(
        f"/api/v1/alerts/{alert_id}/assign", json={"assignee": "r-wang"}, headers=chief
    )
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "alert_resolved"


def test_bad_filters_and_departments_are_400_with_a_code(platform):
    client, _ = platform
    regulator = login(client, "r-1")
    for query, code in (
        ("industry=fitness&department=sports", "filter_combination_not_indexed"),
        ("assignee=r-li&industry=fitness", "filter_combination_not_indexed"),
        ("department=police", "invalid_department"),
    ):
        answer = client.get(f"/api/v1/alerts?{query}", headers=regulator)
        assert answer.status_code == 400, (query, answer.get_json())
        assert answer.get_json()["error"]["code"] == code
    for body in (
        {"role": "regulator", "subject": "r-2", "department": "police"},
        {"role": "merchant", "subject": "m-1", "department": "commerce"},
    ):
        answer = client.post("/api/v1/auth/dev-login", json=body)
        assert answer.status_code == 400, answer.get_json()
        assert answer.get_json()["error"]["code"] == "invalid_department"
    page = client.get("/api/v1/alerts?industry=fitness", headers=regulator).get_json()
    cursor = page["next_cursor"] or "WyJhbGVydHMvIiwgIngiXQ"
    other = client.get(f"/api/v1/alerts?industry=retail&cursor={cursor}", headers=regulator)
    assert other.status_code == 400 and other.get_json()["error"]["code"] == "invalid_cursor"
