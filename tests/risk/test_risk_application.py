"""The risk use cases over a real SQLite store: complaints, codes, alerts and their steps."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.exceptions import InvalidSignature

from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from privacy import Vault
from services.domain_errors import Conflict, InvalidInput, NotFound
from services.risk.application import alerts as risk_alerts
from services.risk.application import commands, queries
from services.risk.domain.alerts import AlertRules
from services.risk.domain.health_code import RiskRules
from tests.support.merchant_port import FakeMerchants

RULES = RiskRules.from_policy(load_policy().risk)
T0 = datetime(2026, 9, 1, 9, tzinfo=UTC)


@pytest.fixture
def env(tmp_path):
    store = SqliteEventStore(tmp_path / "risk.db")
    yield store, Vault(tmp_path / "vault.db")
    store.close()


def publish(store, event_type, at, **data):
    with store.unit_of_work() as uow:
        return commands.observe_event(uow, event_type, data, at.isoformat(), rules=RULES)


def healthy_shop(store, merchant="m-1", cards=200):
    """Sells cards every day for 90 days, card i to consumer c-<i>, and is visited every 3
    days, in time order."""
    events = [(T0 - timedelta(days=95), "merchant.MerchantApproved.v1", {})]
    events += [
        (
            T0 - timedelta(days=90 - i % 90, minutes=i),
            "escrow.DepositConfirmed.v1",
            {"card_id": f"{merchant}-c{i}", "amount": 10_000, "upfront_amount": 0},
        )
        for i in range(cards)
    ]
    # Each card's purchase names its consumer, c-<i>: with the deposit, a customer whose
    # complaints count.
    events += [
        (
            T0 - timedelta(days=90 - i % 90, minutes=i + 0.5),
            "escrow.CardPurchased.v1",
            {"card_id": f"{merchant}-c{i}", "consumer_id": f"c-{i}"},
        )
        for i in range(cards)
    ]
    events += [
        (
            T0 - timedelta(days=day, hours=1),
            "escrow.RedemptionConfirmed.v1",
            {"released_amount": 50_000},
        )
        for day in range(0, 90, 3)
    ]
    for at, event_type, data in sorted(events, key=lambda e: e[0]):
        publish(store, event_type, at, merchant_id=merchant, **data)


def test_a_healthy_shop_is_green_with_its_metrics(env):
    store, _ = env
    healthy_shop(store)
    code = queries.health("m-1", store=store)
    assert code["code"] == "green", code["reasons"]
    assert code["metrics"]["open_cards"] == 200
    assert code["metrics"]["outstanding"] == 200 * 10_000 - 30 * 50_000
    assert [e.type for e in store.read_stream("health-m-1")] == ["risk.HealthCodeChanged.v1"]


def test_a_complaint_surge_turns_red_and_opens_an_alert(env):
    store, vault = env
    healthy_shop(store, cards=200)
    for i in range(5):
        commands.file_complaint(
            f"c-{i}",
            "m-1",
            None,
            "refused_refund",
            f"text {i}",
            store=store,
            vault=vault,
            rules=RULES,
            now=T0 + timedelta(hours=i),
        )
    code = queries.health("m-1", store=store)
    assert code["code"] == "red"
    assert "complaint_surge_per_thousand_cards" in [r["indicator"] for r in code["reasons"]]
    alerts = risk_alerts.queue(store=store, now=T0 + timedelta(days=1), rules=AlertRules())["items"]
    assert [(a["code"], a["merchant_id"]) for a in alerts] == [("yellow", "m-1"), ("red", "m-1")]
    red = alerts[1]
    assert red["improve_by"] == (T0 + timedelta(hours=4) + timedelta(days=30)).isoformat()
    raw = b"".join(r.data.get("text_encrypted", "").encode() for r in store.read_all(0, 10_000))
    assert b"text 0" not in raw, "complaint texts are stored encrypted"

    merchants = FakeMerchants()
    with pytest.raises(Conflict):
        commands.alert_step(
            red["alert_id"], "verified", by="r-1", store=store, merchants=merchants, now=T0
        )
    commands.alert_step(
        red["alert_id"], "acknowledged", by="r-1", store=store, merchants=merchants, now=T0
    )
    with pytest.raises(InvalidInput):
        commands.alert_step(
            red["alert_id"],
            "verified",
            by="r-1",
            store=store,
            merchants=merchants,
            now=T0,
            note="visited",
            evidence_sha256="nothex",
        )
    evidence = hashlib.sha256(b"photo").hexdigest()
    commands.alert_step(
        red["alert_id"],
        "verified",
        by="r-1",
        store=store,
        merchants=merchants,
        now=T0,
        note="visited",
        evidence_sha256=evidence,
    )
    assert merchants.changes == []
    done = commands.alert_step(
        red["alert_id"],
        "resolved",
        by="r-2",
        store=store,
        merchants=merchants,
        now=T0,
        disposition="public_warning",
        note="warned",
    )
    assert [s["step"] for s in done["steps"]] == ["acknowledged", "verified", "resolved"]
    assert done["disposition"] == "public_warning"
    assert merchants.changes == [("m-1", "warned", "warned", "r-2")]
    assert [
        a["alert_id"] for a in risk_alerts.queue(store=store, now=T0, rules=AlertRules())["items"]
    ] == [alerts[0]["alert_id"]]


def test_complaint_lifecycle_and_erasure(env):
    store, vault = env
    filed = commands.file_complaint(
        "c-1",
        "m-1",
        "card-1",
        "quality",
        "cold coffee",
        store=store,
        vault=vault,
        rules=RULES,
        now=T0,
    )
    cid = filed["complaint_id"]
    with pytest.raises(NotFound):
        commands.respond_to_complaint(
            cid, "m-2", "?", store=store, vault=vault, rules=RULES, now=T0
        )
    answered = commands.respond_to_complaint(
        cid, "m-1", "sorry, refunded a cup", store=store, vault=vault, rules=RULES, now=T0
    )
    assert (answered["text"], answered["response"]) == ("cold coffee", "sorry, refunded a cup")
    with pytest.raises(Conflict):
        commands.respond_to_complaint(
            cid, "m-1", "again", store=store, vault=vault, rules=RULES, now=T0
        )
    with pytest.raises(NotFound):
        commands.close_complaint(
            cid, "c-2", "consumer:c-2", "resolve", store=store, rules=RULES, now=T0
        )
    closed = commands.close_complaint(
        cid, "c-1", "consumer:c-1", "resolve", store=store, rules=RULES, now=T0
    )
    assert closed["status"] == "resolved"
    vault.forget("c-1")
    gone = queries.get_complaint(cid, store=store, vault=vault)
    assert (gone["text"], gone["response"]) == (None, None)
    with pytest.raises(InvalidInput):
        commands.file_complaint(
            "c-1", "m-1", None, "gossip", "x", store=store, vault=vault, rules=RULES, now=T0
        )


def test_the_refund_rate_counts_the_refunds_consumers_asked_for(env):
    store, _ = env
    healthy_shop(store, cards=100)
    for i, rule in enumerate(
        ["expiry"] * 20 + ["merchant_default"] * 20 + ["on_request"] * 4 + ["cooling_off"]
    ):
        publish(
            store,
            "escrow.CardRefunded.v1",
            T0 + timedelta(minutes=i),
            merchant_id="m-1",
            card_id=f"m-1-c{i}",
            rule=rule,
            refund_amount=0,
        )
    metrics = queries.health("m-1", store=store)["metrics"]
    in_window = 98  # the shop's two oldest cards were issued before the 90 days
    assert metrics["refund_rate_per_mille"] == 5 * 1000 // in_window
    assert metrics["open_cards"] == 100 - 45, "every refunded card is closed all the same"


def test_a_merchant_reads_its_complaints_a_page_at_a_time(env):
    store, vault = env
    for i, merchant in enumerate(["m-1", "m-10", "m-10", "m-1", "m-1", "m-2"]):
        commands.file_complaint(
            f"c-{i}",
            merchant,
            None,
            "quality",
            f"text {i}",
            store=store,
            vault=vault,
            rules=RULES,
            now=T0 + timedelta(hours=i),
        )
    page = lambda after: queries.merchant_complaints(  # noqa: E731
        "m-1", store=store, vault=vault, after=after, limit=2
    )
    first = page("")
    assert [c["text"] for c in first["items"]] == ["text 0", "text 3"], "oldest first, only m-1"
    second = page(first["next_after"])
    assert [c["text"] for c in second["items"]] == ["text 4"]
    assert second["next_after"] is None
    assert queries.merchant_complaints("m-3", store=store, vault=vault) == {
        "items": [],
        "next_after": None,
    }


def test_credit_report_is_signed_and_only_for_green(env):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from services.domain_errors import BusinessRuleViolation
    from services.risk.application import credit

    store, vault = env
    key = Ed25519PrivateKey.generate()
    healthy_shop(store)
    signed = credit.credit_report("m-1", store=store, key=key, key_id="k1", now=T0)
    report = signed["report"]
    assert report["code"] == "green" and report["history"][0]["code"] == "green"
    assert report["indicators"]["open_cards"] == 200
    key.public_key().verify(base64.b64decode(signed["signature"]["sig"]), credit.canonical(report))
    forged = {**report, "indicators": {**report["indicators"], "open_cards": 9}}
    with pytest.raises(InvalidSignature):
        key.public_key().verify(
            base64.b64decode(signed["signature"]["sig"]), credit.canonical(forged)
        )
    commands.file_complaint(
        "c-1",
        "m-1",
        None,
        "quality",
        "x",
        store=store,
        vault=vault,
        rules=RULES,
        now=T0 + timedelta(hours=1),
    )
    with pytest.raises(BusinessRuleViolation):
        credit.credit_report("m-1", store=store, key=key, key_id="k1", now=T0)
    with pytest.raises(NotFound):
        credit.credit_report("m-unknown", store=store, key=key, key_id="k1", now=T0)
