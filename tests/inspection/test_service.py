"""The inspection service on real RabbitMQ with its relay and a real ledger: a plan's
commitment is in the ledger (its receipt verifies) before the draw, which waits for it; the
e码查 check-in, the block, a minor finding's rectification, acceptance and publication."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from eventstore.factory import open_store
from ledger.entry import canonical
from policy import DEFAULT_FILE
from services.remote_errors import ServiceError
from tests.support.harness import ROOT, start_nameko, start_relay, stop, store_url, wait_until

pytestmark = pytest.mark.broker

MERCHANTS = [
    {"merchant_id": f"m-{i}", "tier": "D", "white_listed": False, "at_quota": False}
    for i in range(2)
]


@pytest.fixture
def platform(tmp_path, amqp_uri):
    policy = tmp_path / "policy.toml"
    text = open(DEFAULT_FILE, encoding="utf-8").read()
    assert "block_after_empty_visits = 3" in text
    policy.write_text(text.replace("block_after_empty_visits = 3", "block_after_empty_visits = 1"))
    eligible = tmp_path / "eligible.json"
    eligible.write_text(json.dumps(MERCHANTS))
    url = store_url(tmp_path, "inspection")
    processes = [
        start_nameko(
            "ledger.service:LedgerService",
            {"AMQP_URI": amqp_uri, "LEDGER_DIR": str(tmp_path / "ledger")},
            tmp_path,
        ),
        start_nameko(
            "tests.support.inspection_service:FixedEligibleInspectionService",
            {
                "AMQP_URI": amqp_uri,
                "STORE_URL": url,
                "INSPECTION_SIGNING_KEY": str(tmp_path / "inspection.pem"),
                "POLICY_FILE": str(policy),
                "TEST_ELIGIBLE_FILE": str(eligible),
            },
            tmp_path,
        ),
        start_relay("inspection", url, amqp_uri, tmp_path),
    ]
    rpc = ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30)
    proxy = rpc.start()
    try:
        wait_until(lambda: _up(proxy), timeout=90, what="the inspection service and the ledger")
        yield proxy, url
    finally:
        rpc.stop()
        for process in processes:
            stop(process)


def _up(proxy) -> bool:
    try:
        return bool(proxy.inspection.health() and proxy.ledger.health())
    except Exception:  # noqa: BLE001 - not up yet
        return False


def _draw(proxy, plan_id: str) -> dict:
    """Draws once the ledger holds the commitment; until then the refusal is 409."""
    outcome: dict = {}

    def drawn() -> bool:
        try:
            outcome["answer"] = proxy.inspection.draw(plan_id, "r-1", {})
            return True
        except ServiceError as refused:
            assert refused.code == "commitment_not_notarised"
            outcome["refused"] = True
            return False

    wait_until(drawn, timeout=60, what="the draw")
    return outcome["answer"]


def _verify(receipt: dict, log_vkey: str, tmp_path) -> subprocess.CompletedProcess:
    receipt = {k: v for k, v in receipt.items() if k not in ("parties", "consumer_is_party")}
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    script = ROOT / "ledger" / "verify_receipt.py"
    return subprocess.run(
        [sys.executable, str(script), str(path), "--vkey", log_vkey],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )


def test_commitment_notarised_before_the_draw_then_visits_to_publication(platform, tmp_path):
    proxy, url = platform
    inspection = proxy.inspection
    for inspector_id in ("i-1", "i-2"):
        inspection.enrol_inspector(inspector_id, "samr", [], "r-1", {})
    first = inspection.open_plan("samr", "2026", "special", "r-1", {"correlation_id": "a"}, "投诉")
    second = inspection.open_plan("samr", "2026", "special", "r-1", {"correlation_id": "b"}, "投诉")
    drawn = _draw(proxy, first["plan_id"])
    assert _draw(proxy, first["plan_id"]) == drawn  # idempotent

    # The commitment is in the ledger, its receipt verifies, and it precedes the draw there.
    receipt = proxy.ledger.receipt(first["ledger_event_id"])
    entry = json.loads(base64.b64decode(receipt["entry"]))
    log_vkey = proxy.ledger.keys()["log"]["vkey"]
    checked = _verify(receipt, log_vkey, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    store = open_store(url)
    try:
        events = store.read_all(0, 1000)
    finally:
        store.close()
    committed = next(e for e in events if e.id == first["ledger_event_id"])
    assert committed.type == "inspection.PlanCommitted.v1"
    assert committed.data["seed_commitment"] == first["seed_commitment"]
    assert drawn["seed"] not in json.dumps(committed.data)
    assert entry["event"]["id"] == committed.id
    assert entry["data_hash"] == hashlib.sha256(canonical(committed.data)).hexdigest()
    drawn_event = next(
        e
        for e in events
        if e.type == "inspection.PlanDrawn.v1" and e.data["plan_id"] == first["plan_id"]
    )
    later = wait_until(
        lambda: proxy.ledger.receipt(drawn_event.id), timeout=60, what="the draw in the ledger"
    )
    assert receipt["index"] < later["index"]
    assert drawn_event.data["seed"] == drawn["seed"]
    assert hashlib.sha256(bytes.fromhex(drawn["seed"])).hexdigest() == first["seed_commitment"]

    # Year plans: both drew both tier-D merchants (100% a year), each with both inspectors.
    other = _draw(proxy, second["plan_id"])
    by_merchant = {e["merchant_id"]: e for e in drawn["inspections"]}
    again = {e["merchant_id"]: e for e in other["inspections"]}
    assert set(by_merchant) == set(again) == {"m-0", "m-1"}

    # e码查: i-1 finds nothing at m-0, and is then blocked there (the policy blocks after one).
    code = inspection.merchant_code("m-0")["merchant_code"]
    visit = by_merchant["m-0"]["inspection_id"]
    with pytest.raises(ServiceError) as wrong:
        inspection.check_in(visit, "i-1", inspection.merchant_code("m-1")["merchant_code"], {})
    assert wrong.value.code == "invalid_merchant_code"
    checked_in = inspection.check_in(visit, "i-1", code, {})
    assert checked_in["over_quota"] is False
    inspection.record_result(visit, "i-1", "none", "", None, {})
    with pytest.raises(ServiceError) as blocked:
        inspection.check_in(again["m-0"]["inspection_id"], "i-1", code, {})
    assert blocked.value.code == "inspector_blocked"

    # A minor finding at m-1: rectification, acceptance, publication.
    visit = by_merchant["m-1"]["inspection_id"]
    inspection.check_in(visit, "i-2", inspection.merchant_code("m-1")["merchant_code"], {})
    result = inspection.record_result(visit, "i-2", "minor", "消防通道堵塞", 15, {})
    assert result["status"] == "rectification_due"
    inspection.submit_rectification(visit, "m-1", "b" * 64, "已整改", {})
    with pytest.raises(ServiceError) as twice:
        inspection.submit_rectification(visit, "m-1", "b" * 64, "again", {})
    assert twice.value.code == "no_rectification_due"
    inspection.accept_rectification(visit, "r-1", {})
    public = inspection.published("m-1")["items"]
    assert [(p["finding"], p["status"]) for p in public] == [("minor", "rectified")]
    assert inspection.inspection(visit)["status"] == "published"
