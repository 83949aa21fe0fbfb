"""The regulators' alert queue over a real SQLite store: filters as key ranges, keyset pages,
SLA, assignment, departments on every step, the alerts an escalated complaint and a
reconciliation difference open, the backfill of a store from before the queue, and a replay
that rebuilds all of it."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from eventstore.sqlite import SqliteEventStore
from privacy import Vault
from services.domain_errors import BusinessRuleViolation, Conflict, InvalidInput
from services.risk.application import alerts, city, commands, projections
from services.risk.application.replay import alert_views, replay
from tests.support.alert_queue import (
    HOUR,
    RULES,
    SLA,
    T0,
    open_stores,
    page,
    publish,
    red_merchant,
    seed,
    step,
    walk,
)


@pytest.fixture
def stores(tmp_path):
    yield from open_stores(tmp_path)


def test_filters_are_key_ranges_paged_oldest_first(stores):
    risk = stores["risk"]
    ids = seed(stores)
    items, pages = walk(risk, 5)
    assert [a["alert_id"] for a in items] == ids and pages == 3
    first = items[0]
    assert (first["merchant_name"], first["industry"], first["department"]) == (
        "店0",
        "education",
        "education",
    )
    assert [a["alert_id"] for a in walk(risk, 2, facet="industry", value="fitness")[0]] == ids[1::3]
    sports = walk(risk, 100, facet="department", value="sports")[0]
    assert [a["alert_id"] for a in sports] == ids[1::3]
    commerce = walk(risk, 100, facet="department", value="commerce")[0]
    assert [a["alert_id"] for a in commerce] == ids[2::3], "catering is 商务局's"
    assert walk(risk, 100, code="yellow")[0] == []
    assert [a["alert_id"] for a in walk(risk, 3, code="red")[0]] == ids
    window = walk(
        risk,
        2,
        opened_after=(T0 + timedelta(minutes=3)).isoformat(),
        opened_before=(T0 + timedelta(minutes=7)).isoformat(),
    )[0]
    assert [a["alert_id"] for a in window] == ids[3:7], "after inclusive, before exclusive"
    with pytest.raises(InvalidInput) as refused:
        page(risk, facet="department", value="police")
    assert refused.value.code == "invalid_department"

    step(risk, ids[4], "acknowledged")
    assert ids[4] not in [a["alert_id"] for a in walk(risk, 100)[0]]
    assert [a["alert_id"] for a in walk(risk, 100, status="acknowledged")[0]] == [ids[4]]
    assert [a["alert_id"] for a in walk(risk, 5, status="any")[0]] == ids


def test_each_alert_carries_its_sla_as_of_now(stores):
    risk = stores["risk"]
    seed(stores, 1)
    now = T0 + timedelta(hours=30)
    alert = page(risk, now=now)["items"][0]
    assert alert["code"] == "red" and alert["sla_hours"] == SLA.sla_hours_red == 24
    assert alert["age_hours"] == 30
    assert alert["due_at"] == (T0 + timedelta(hours=24)).isoformat()
    assert alert["overdue"] is True
    assert page(risk, now=T0 + timedelta(hours=23))["items"][0]["overdue"] is False


def test_assignment_moves_the_alert_between_assignees_and_stops_at_resolution(stores):
    risk = stores["risk"]
    ids = seed(stores, 4)
    assert [a["alert_id"] for a in walk(risk, 100, facet="assignee", value="none")[0]] == ids

    def assign(alert_id, to, by="regulator:r-chief"):
        return alerts.assign(
            alert_id, to, by=by, department="commerce", store=risk, now=T0 + timedelta(hours=1)
        )

    done = assign(ids[1], "reg-li")
    assert done["assignee"] == "reg-li"
    assert done["assignments"] == [
        {
            "assignee": "reg-li",
            "by": "regulator:r-chief",
            "department": "commerce",
            "at": (T0 + timedelta(hours=1)).isoformat(),
        }
    ]
    assert assign(ids[1], "reg-li") == done, "the same assignee again changes nothing"
    assert [e.type for e in risk.read_stream(f"alert-{ids[1]}")] == ["risk.AlertAssigned.v1"]
    assign(ids[2], "reg-li")
    assign(ids[2], "reg-wang")
    assert [a["alert_id"] for a in walk(risk, 1, facet="assignee", value="reg-li")[0]] == [ids[1]]
    assert [a["alert_id"] for a in walk(risk, 100, facet="assignee", value="reg-wang")[0]] == [
        ids[2]
    ]
    unassigned = walk(risk, 100, facet="assignee", value="none")[0]
    assert [a["alert_id"] for a in unassigned] == [ids[0], ids[3]]
    with pytest.raises(InvalidInput):
        assign(ids[0], "none")

    step(risk, ids[1], "acknowledged", department="commerce")
    assert [a["alert_id"] for a in walk(risk, 100, facet="assignee", value="reg-li")[0]] == []
    reg_li_acked = walk(risk, 100, facet="assignee", value="reg-li", status="acknowledged")[0]
    assert [a["alert_id"] for a in reg_li_acked] == [ids[1]]
    step(risk, ids[1], "resolved", disposition="rectification_ordered")
    with pytest.raises(Conflict) as refused:
        assign(ids[1], "reg-wang")
    assert refused.value.code == "alert_resolved"


def test_every_step_records_who_their_department_and_when(stores):
    risk = stores["risk"]
    alert_id = seed(stores, 1)[0]
    step(risk, alert_id, "acknowledged", by="regulator:r-1", department="education")
    evidence = hashlib.sha256(b"photo of the closed shop").hexdigest()
    step(
        risk,
        alert_id,
        "verified",
        by="regulator:r-2",
        department="samr",
        note="visited",
        evidence_sha256=evidence,
    )
    done = step(risk, alert_id, "resolved", department="samr", disposition="verified_ok")
    assert [(s["step"], s["by"], s["department"]) for s in done["steps"]] == [
        ("acknowledged", "regulator:r-1", "education"),
        ("verified", "regulator:r-2", "samr"),
        ("resolved", "regulator:r-1", "samr"),
    ]
    assert all(s["at"] == (T0 + timedelta(hours=2)).isoformat() for s in done["steps"])
    assert done["steps"][1]["evidence_sha256"] == evidence
    assert [a["alert_id"] for a in walk(risk, 100, status="resolved")[0]] == [alert_id]


def test_an_escalated_complaint_opens_an_alert_once(stores, tmp_path):
    risk, vault = stores["risk"], Vault(tmp_path / "vault.db")
    red_merchant(stores, 1, "fitness", T0)
    publish(
        stores,
        "merchant",
        "merchant.MerchantApplied.v1",
        T0,
        merchant_id="m-g",
        name="好店",
        industry="education",
    )
    for merchant_id in ("m-g", "m-001"):
        filed = commands.file_complaint(
            "c-1",
            merchant_id,
            None,
            "quality",
            "差",
            store=risk,
            vault=vault,
            rules=RULES,
            now=T0 + timedelta(hours=1),
        )
        for _ in range(2):  # a second escalation changes nothing
            commands.close_complaint(
                filed["complaint_id"],
                "c-1",
                "consumer:c-1",
                "escalate",
                store=risk,
                rules=RULES,
                now=T0 + timedelta(hours=2),
            )
        alert = alerts.get_alert(f"al-{filed['complaint_id']}", store=risk)
        assert alert["reasons"] == [
            {"indicator": "complaint_escalated", "value": 1, "threshold": "0"}
        ]
        assert alert["opened_at"] == (T0 + timedelta(hours=2)).isoformat()
        assert alert["code"] == ("red" if merchant_id == "m-001" else "yellow")
    assert alert["department"] == "sports" and alert["merchant_name"] == "店1"
    escalated = [a for a in walk(risk, 100)[0] if a["alert_id"].startswith("al-cp-")]
    assert len(escalated) == 2
    assert [e.type for e in risk.read_stream(f"alert-opened-{alert['alert_id']}")] == [
        "risk.AlertOpened.v1"
    ]


def test_a_reconciliation_difference_opens_a_red_alert_about_no_merchant(stores):
    risk = stores["risk"]
    differences = [
        {
            "side": "missing_at_bank",
            "kind": "deposit",
            "reference": "pay-1",
            "amount": 10_000,
            "count": 1,
        },
        {"side": "unexpected_at_bank", "kind": "payout", "reference": "x", "amount": 5, "count": 1},
    ]
    for day, status in (("2026-09-01", "matched"), ("2026-09-02", "differences")):
        for _ in range(2):  # a redelivery opens nothing more
            publish(
                stores,
                "escrow",
                "escrow.ReconciliationCompleted.v1",
                T0,
                day=day,
                status=status,
                matched=3,
                differences=differences if status == "differences" else [],
                reconciled_at=(T0 + timedelta(days=1)).isoformat(),
            )
    [alert] = walk(risk, 100, facet="department", value="commerce")[0]
    assert alert["alert_id"] == "al-recon-2026-09-02"
    assert (alert["merchant_id"], alert["industry"], alert["code"]) == ("", "", "red")
    assert alert["reasons"] == [
        {"indicator": "reconciliation_difference", "value": 2, "threshold": "0"}
    ]
    step(risk, alert["alert_id"], "acknowledged")
    for sanction in ("public_warning", "delisted"):
        with pytest.raises(BusinessRuleViolation) as refused:
            step(risk, alert["alert_id"], "resolved", disposition=sanction)
        assert refused.value.code == "alert_has_no_merchant"
    done = step(risk, alert["alert_id"], "resolved", disposition="rectification_ordered")
    assert done["status"] == "resolved"


def test_a_store_from_before_the_queue_is_listed_at_start(stores):
    risk = stores["risk"]
    ids = seed(stores, 6)
    step(risk, ids[0], "acknowledged")
    before = risk.list_views(projections.QUEUE, "", 1000)
    with risk.unit_of_work() as uow:  # as a store from before the queue has it
        for key, _ in before:
            uow.delete_view(projections.QUEUE, key)
        for _, alert in risk.list_views(projections.ALERTS, "", 1000):
            old = {k: v for k, v in alert.items() if k not in ("industry", "department")}
            uow.put_view(projections.ALERTS, alert["alert_id"], old)
    assert walk(risk, 100)[0] == []
    assert alerts.backfill_queue(risk) == 6
    assert risk.list_views(projections.QUEUE, "", 1000) == before
    assert walk(risk, 100, facet="industry", value="education")[0][0]["alert_id"] == ids[3]
    assert alerts.backfill_queue(risk) is None, "done once, then marked done"


def test_alerts_listed_before_their_merchant_was_known_are_refiled_once_it_is(stores):
    risk = stores["risk"]
    ids = seed(stores, 4)
    educator = risk.get_view(projections.ALERTS, ids[3])["merchant_id"]
    known = risk.get_view(city.MERCHANTS, educator)
    with risk.unit_of_work() as uow:  # listed while risk knew no name or industry for it
        uow.delete_view(city.MERCHANTS, educator)
        alert = risk.get_view(projections.ALERTS, ids[3])
        projections.put_alert(uow, {**alert, **alerts.describe(uow, educator)}, before=alert)
    assert walk(risk, 100, facet="department", value="commerce")[0][-1]["alert_id"] == ids[3]
    with risk.unit_of_work() as uow:  # then learnt from the merchant service
        uow.put_view(city.MERCHANTS, educator, known)
    assert alerts.refile_unknown(risk) == 1
    assert ids[3] not in [
        a["alert_id"] for a in walk(risk, 100, facet="department", value="commerce")[0]
    ]
    education = walk(risk, 100, facet="department", value="education")[0]
    [refiled] = [a for a in education if a["alert_id"] == ids[3]]
    assert refiled["industry"] == "education"
    assert alerts.refile_unknown(risk) == 0


def test_a_replay_rebuilds_the_alerts_their_steps_assignments_and_the_queue(stores, tmp_path):
    risk, vault = stores["risk"], Vault(tmp_path / "vault.db")
    ids = seed(stores, 5)
    alerts.assign(
        ids[1], "reg-li", by="regulator:r-1", department="samr", store=risk, now=T0 + HOUR
    )
    step(risk, ids[1], "acknowledged", department="samr")
    step(risk, ids[2], "acknowledged")
    step(risk, ids[2], "resolved", disposition="verified_ok")
    filed = commands.file_complaint(
        "c-9",
        "m-003",
        None,
        "other",
        "关门了",
        store=risk,
        vault=vault,
        rules=RULES,
        now=T0 + timedelta(hours=3),
    )
    commands.close_complaint(
        filed["complaint_id"],
        "c-9",
        "consumer:c-9",
        "escalate",
        store=risk,
        rules=RULES,
        now=T0 + timedelta(hours=4),
    )
    publish(
        stores,
        "escrow",
        "escrow.ReconciliationCompleted.v1",
        T0,
        day="2026-09-01",
        status="differences",
        matched=0,
        reconciled_at=(T0 + timedelta(hours=5)).isoformat(),
        differences=[
            {
                "side": "missing_at_bank",
                "kind": "deposit",
                "reference": "p",
                "amount": 1,
                "count": 1,
            }
        ],
    )
    alerts.assign(
        "al-recon-2026-09-01",
        "reg-wang",
        by="regulator:r-1",
        department="commerce",
        store=risk,
        now=T0 + timedelta(hours=6),
    )
    fresh = SqliteEventStore(tmp_path / "fresh.db")
    try:
        replay([stores["merchant"], stores["escrow"]], risk, fresh, rules=RULES)
        live, again = alert_views(risk), alert_views(fresh)
        assert len(live["alerts"]) == 5 + 1 + 1
        assert again == live
    finally:
        fresh.close()
