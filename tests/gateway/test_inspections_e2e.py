"""Inspections end to end through HTTP on real RabbitMQ (issue 14): the merchant, escrow, risk,
ledger and inspection services with their relays behind the gateway.

plan -> draw (only once the ledger holds the commitment) -> check-in with the merchant's code
(and a blocked one: three visits without findings by one inspector to one merchant this year)
-> minor finding -> rectification with uploaded evidence -> acceptance -> published; a tier-A
merchant's routine data check; and the standalone draw re-run from the draw's answer.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from eventstore.factory import open_store
from services.gateway.app import create_app
from services.inspection.domain.calendar import china_year
from tests.support.gateway import gateway_settings
from tests.support.harness import (
    start_nameko,
    start_relay,
    start_service,
    stop,
    store_url,
    wait_until,
)
from tests.support.merchants import onboard

pytestmark = pytest.mark.broker

KEYS = iter(range(10**6))


@contextmanager
def inspection_platform(tmp_path: Path, amqp_uri: str):
    names = ("merchant", "escrow", "risk", "inspection")
    processes = [start_service(name, tmp_path, amqp_uri) for name in names]
    processes.append(
        start_nameko(
            "ledger.service:LedgerService",
            {"AMQP_URI": amqp_uri, "LEDGER_DIR": str(tmp_path / "ledger")},
            tmp_path,
        )
    )
    processes += [
        start_relay(name, store_url(tmp_path, name), amqp_uri, tmp_path) for name in names
    ]
    app = create_app(gateway_settings(tmp_path, amqp_uri))
    rpc = ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30)
    proxy = rpc.start()
    try:
        client = app.test_client()
        wait_until(
            lambda: (
                client.get("/api/v1/merchants").status_code == 200
                and client.get("/api/v1/inspections/public?merchant_id=m").status_code == 200
                and client.get("/api/v1/ledger/consistency?first=0&second=0").status_code != 503
            ),
            timeout=90,
            what="the services",
        )
        yield client, proxy
    finally:
        rpc.stop()
        app.config["RPC_POOL"].close()
        for process in processes:
            stop(process)


@pytest.fixture
def platform(tmp_path, amqp_uri, monkeypatch):
    # A demo platform with its own clock file, read by this process and the services alike:
    # half a year of green passes through POST /demo/clock, as the demo's simulator moves it.
    monkeypatch.setenv("PLATFORM_MODE", "demo")
    monkeypatch.setenv("PLATFORM_CLOCK_FILE", str(tmp_path / "clock.json"))
    with inspection_platform(tmp_path, amqp_uri) as running:
        yield running


def login(client, role, subject, department=None):
    body = {"role": role, "subject": subject, **({"department": department} if department else {})}
    answer = client.post("/api/v1/auth/dev-login", json=body)
    assert answer.status_code == 200, answer.get_json()
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def post(client, url, body, headers, expect=200):
    answer = client.post(url, json=body, headers={**headers, "Idempotency-Key": f"e-{next(KEYS)}"})
    assert answer.status_code == expect, (url, answer.get_json())
    return answer.get_json()


def classified(client, merchant_id, tier=None):
    """The merchant's inspection tier once the inspection service has classified it."""

    def found():
        got = client.get(f"/api/v1/merchants/{merchant_id}").get_json()["inspection"]
        return got if got is not None and (tier is None or got["tier"] == tier) else None

    return wait_until(found, timeout=60, what=f"the classification of {merchant_id}")


def operating(tmp_path, merchant_id):
    """Waits until the inspection service has folded the merchant's approval as well as its
    application (the classification shows after the first; only operating merchants are
    eligible for a draw): read from the service's own store, as nothing public says it."""
    store = open_store(store_url(tmp_path, "inspection"))
    try:
        wait_until(
            lambda: (store.get_view("classifications", merchant_id) or {}).get("operating"),
            timeout=60,
            what=f"{merchant_id} operating, as the inspection service knows it",
        )
    finally:
        store.close()


def drawn(client, regulator, department, kind, period="2026"):
    """A plan opened and drawn: the draw is refused (409 commitment_not_notarised) until the
    ledger holds the plan's commitment, and a repeat answers the same draw."""
    plan = post(
        client,
        "/api/v1/inspection/plans",
        {
            "department": department,
            "period": period,
            "kind": kind,
            **({"reason": "消费者投诉线索"} if kind == "special" else {}),
        },
        regulator,
        expect=201,
    )
    assert plan["status"] == "committed" and len(plan["seed_commitment"]) == 64
    url = f"/api/v1/inspection/plans/{plan['plan_id']}/draw"
    refusals = []

    def draw():
        answer = client.post(url, headers={**regulator, "Idempotency-Key": f"d-{next(KEYS)}"})
        if answer.status_code == 409:
            refusals.append(answer.get_json()["error"]["code"])
            return None
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    result = wait_until(draw, timeout=60, what="the commitment's receipt, then the draw")
    assert set(refusals) <= {"commitment_not_notarised"}
    receipt = client.get(f"/api/v1/ledger/receipts/{plan['ledger_event_id']}", headers=regulator)
    assert receipt.status_code == 200, "the commitment is in the ledger"
    assert hashlib.sha256(bytes.fromhex(result["seed"])).hexdigest() == plan["seed_commitment"]
    assert post(client, url, {}, regulator) == result, "the same draw again"
    return plan, result


def rerun(result) -> list[dict]:
    """`python -m services.inspection.draw` from the draw's published seed and eligible list."""
    eligible = Path(result["__file__"])
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.inspection.draw",
            "--seed",
            result["seed"],
            "--eligible",
            str(eligible),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)["inspections"]


def merchant_code(client, merchant_id):
    answer = client.get(
        f"/api/v1/merchants/{merchant_id}/inspection-code",
        headers=login(client, "merchant", merchant_id),
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["merchant_code"]


def test_plan_draw_visit_block_minor_finding_rectification_and_publication(platform, tmp_path):
    client, _ = platform
    regulator = login(client, "regulator", "r-chief", "sports")
    gym = onboard(client, industry="fitness")  # the only merchant of the sports department
    classified(client, gym)
    operating(tmp_path, gym)
    for inspector in ("ins-a", "ins-b"):
        post(
            client,
            "/api/v1/inspection/inspectors",
            {"inspector_id": inspector, "department": "sports", "conflicts": []},
            regulator,
        )
    roster = client.get("/api/v1/inspection/inspectors?department=sports", headers=regulator)
    assert {i["inspector_id"] for i in roster.get_json()["items"]} == {"ins-a", "ins-b"}

    # Four special plans, each visiting the gym with both inspectors of the roster.
    visits = []
    for _ in range(4):
        plan, result = drawn(client, regulator, "sports", "special")
        (visit,) = [i for i in result["inspections"] if i["merchant_id"] == gym]
        assert visit["mode"] == "visit" and sorted(visit["inspectors"]) == ["ins-a", "ins-b"]
        eligible = tmp_path / f"eligible-{plan['plan_id']}.json"
        eligible.write_text(json.dumps(result["eligible"]))
        assert rerun({**result, "__file__": eligible}) == result["inspections"], "re-run"
        visits.append(visit["inspection_id"])

    ins_a = login(client, "inspector", "ins-a", "sports")
    ins_b = login(client, "inspector", "ins-b", "sports")
    mine = client.get("/api/v1/inspections?mine=1", headers=ins_a).get_json()["items"]
    assert set(visits) <= {i["inspection_id"] for i in mine}
    outsider = login(client, "inspector", "ins-z", "sports")
    assert client.get(f"/api/v1/inspections/{visits[0]}", headers=outsider).status_code == 404

    # Three visits by ins-a without findings...
    for inspection_id in visits[:3]:
        code = merchant_code(client, gym)
        checked = post(
            client, f"/api/v1/inspections/{inspection_id}/check-in", {"merchant_code": code}, ins_a
        )
        assert checked["inspection_id"] == inspection_id
        again = post(
            client, f"/api/v1/inspections/{inspection_id}/check-in", {"merchant_code": code}, ins_a
        )
        assert again["checked_in_at"] == checked["checked_in_at"], "checking in again is no error"
        post(client, f"/api/v1/inspections/{inspection_id}/result", {"finding": "none"}, ins_a)
    # ...and the fourth is refused to ins-a, while ins-b checks in.
    fourth = f"/api/v1/inspections/{visits[3]}"
    blocked = client.post(
        f"{fourth}/check-in",
        json={"merchant_code": merchant_code(client, gym)},
        headers={**ins_a, "Idempotency-Key": "blocked"},
    )
    assert blocked.status_code == 422 and blocked.get_json()["error"]["code"] == "inspector_blocked"
    other_shop = onboard(client, industry="fitness")
    wrong_code = client.post(
        f"{fourth}/check-in",
        json={"merchant_code": merchant_code(client, other_shop)},
        headers={**ins_b, "Idempotency-Key": "wrong-code"},
    )
    assert wrong_code.get_json()["error"]["code"] == "invalid_merchant_code"
    post(client, f"{fourth}/check-in", {"merchant_code": merchant_code(client, gym)}, ins_b)

    # A minor finding, answered with uploaded evidence, accepted, then published.
    minor = {"finding": "minor", "note": "课程价格未公示", "rectification_days": 15}
    post(client, f"{fourth}/result", minor, ins_b)
    shop = login(client, "merchant", gym)
    photo = "价目表已上墙".encode() * 100
    sha = hashlib.sha256(photo).hexdigest()
    body = {"evidence_sha256": sha, "note": "已公示"}
    refused = client.post(
        f"{fourth}/rectification", json=body, headers={**shop, "Idempotency-Key": "early"}
    )
    assert refused.get_json()["error"]["code"] == "evidence_not_uploaded"
    uploaded = client.put(f"/api/v1/evidence/{sha}", data=photo, headers=shop)
    assert uploaded.status_code == 201
    post(client, f"{fourth}/rectification", body, shop)
    seen = client.get(f"/api/v1/evidence/{sha}", headers=regulator)
    assert seen.status_code == 200 and seen.data == photo
    # The inspectors of the inspection read it; an inspector of none of its inspections not.
    assert client.get(f"/api/v1/evidence/{sha}", headers=ins_b).data == photo
    assert client.get(f"/api/v1/evidence/{sha}", headers=outsider).status_code == 404
    done = post(client, f"{fourth}/accept", {}, regulator)
    assert done["rectification"]["accepted_by"] == "regulator:r-chief"

    published = client.get(f"/api/v1/inspections/public?merchant_id={gym}").get_json()["items"]
    by_id = {p["inspection_id"]: p for p in published}
    assert by_id[visits[3]]["finding"] == "minor" and by_id[visits[3]]["status"] == "rectified"
    assert all(by_id[v]["status"] == "closed" for v in visits[:3])
    assert "ins-a" not in json.dumps(published) and "ins-b" not in json.dumps(published)
    own = client.get(f"/api/v1/inspections?merchant_id={gym}", headers=shop).get_json()["items"]
    assert {i["inspection_id"] for i in own} == set(visits)
    stats = client.get(
        "/api/v1/stats/inspections?year=" + visits_year(client, visits[3], regulator),
        headers=regulator,
    )
    assert stats.status_code == 200 and stats.get_json()["visits"] >= 4


def visits_year(client, inspection_id, regulator) -> str:
    doc = client.get(f"/api/v1/inspections/{inspection_id}", headers=regulator).get_json()
    return str(china_year(doc["check_ins"][0]["at"]))  # the figures' year is China's


def test_a_tier_a_merchants_routine_check_is_a_published_data_check(platform, tmp_path):
    client, rpc = platform
    regulator = login(client, "regulator", "r-commerce", "commerce")
    shop = onboard(client, industry="retail")  # class II, the commerce department's
    classified(client, shop)
    operating(tmp_path, shop)
    operator = login(client, "operator", "op-1")
    post(client, "/api/v1/demo/clock", {"days": 200}, operator)

    # Green for half a year: the sweep (the service's timer's work) reclassifies as of the
    # moved clock once risk's green code has reached the inspection service.
    def tier_a():
        rpc.inspection.sweep()
        return classified(client, shop)["tier"] == "A"

    wait_until(tier_a, timeout=60, what="tier A after half a year green")
    for inspector in ("ins-c", "ins-d"):
        post(
            client,
            "/api/v1/inspection/inspectors",
            {"inspector_id": inspector, "department": "commerce", "conflicts": []},
            regulator,
        )
    plan, result = drawn(client, regulator, "commerce", "routine")
    (check,) = [i for i in result["inspections"] if i["merchant_id"] == shop]
    assert check["mode"] == "data"
    eligible = tmp_path / "eligible.json"
    eligible.write_text(json.dumps(result["eligible"]))
    assert rerun({**result, "__file__": eligible}) == result["inspections"]

    def recorded():
        doc = client.get(
            f"/api/v1/inspections/{check['inspection_id']}", headers=regulator
        ).get_json()
        return doc if doc["data_check"] is not None else None

    doc = wait_until(recorded, timeout=30, what="the data check")
    assert doc["data_check"]["passed"] is True, doc["data_check"]
    published = client.get(f"/api/v1/inspections/public?merchant_id={shop}").get_json()["items"]
    assert [(p["inspection_id"], p["mode"]) for p in published] == [
        (check["inspection_id"], "data")
    ]
