"""What the risk service's decisions do to a merchant's status, through the Merchants port:
a resolved alert's disposition and a red code's passed deadline, over a real SQLite store
and a fake merchant service (no nameko)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from services.domain_errors import NotFound
from services.risk.application import alerts, commands, delisting, queries
from services.risk.domain.alerts import AlertRules
from services.risk.domain.health_code import RiskRules
from tests.support.merchant_port import FakeMerchants

RULES = RiskRules.from_policy(load_policy().risk)
T0 = datetime(2026, 9, 1, 9, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    store = SqliteEventStore(tmp_path / "risk.db")
    yield store
    store.close()


def red_alert(store, merchant_id: str = "m-1") -> str:
    """A listed debtor is a hard flag: red at once, with an alert and a deadline to improve."""
    with store.unit_of_work() as uow:
        commands.observe_event(
            uow,
            "merchant.MerchantFlagSet.v1",
            {"merchant_id": merchant_id, "flag": "dishonest_debtor", "on": True},
            T0.isoformat(),
            rules=RULES,
        )
    alert = next(
        a
        for a in alerts.queue(store=store, now=T0, rules=AlertRules())["items"]
        if a["merchant_id"] == merchant_id
    )
    assert alert["code"] == "red" and alert["improve_by"] is not None
    return alert["alert_id"]


def resolve(store, alert_id, merchants, disposition, note=""):
    commands.alert_step(
        alert_id, "acknowledged", by="regulator:r-1", store=store, merchants=merchants, now=T0
    )
    return commands.alert_step(
        alert_id,
        "resolved",
        by="regulator:r-2",
        store=store,
        merchants=merchants,
        now=T0,
        disposition=disposition,
        note=note,
    )


@pytest.mark.parametrize(
    ("disposition", "status"), [("public_warning", "warned"), ("delisted", "delisted")]
)
def test_a_disposition_changes_the_merchants_status(store, disposition, status):
    merchants = FakeMerchants()
    done = resolve(store, red_alert(store), merchants, disposition)
    assert done["status"] == "resolved"
    assert merchants.changes == [
        (
            "m-1",
            status,
            f"预警 {done['alert_id']} 处置：{commands.SANCTION_WORDS[disposition]}",
            "regulator:r-2",
        )
    ]


def test_other_dispositions_leave_the_status_to_the_merchant(store):
    merchants = FakeMerchants()
    resolve(store, red_alert(store), merchants, "rectification_ordered", note="refund them")
    assert merchants.changes == []


def test_delisting_a_closed_merchant_resolves_the_alert_and_leaves_it_unchanged(store):
    merchants = FakeMerchants(final=("m-1",))
    alert_id = red_alert(store)
    done = resolve(store, alert_id, merchants, "delisted", note="sells nothing already")
    assert (done["status"], done["disposition"]) == ("resolved", "delisted")
    assert queries.get_alert(alert_id, store=store)["status"] == "resolved"
    assert merchants.changes == []


def test_resolving_again_asks_the_merchant_again(store):
    """A resolution whose status change failed is repeated; the merchant treats the same
    status again as done."""
    merchants = FakeMerchants()
    alert_id = red_alert(store)
    resolve(store, alert_id, merchants, "delisted")
    again = commands.alert_step(
        alert_id,
        "resolved",
        by="regulator:r-2",
        store=store,
        merchants=merchants,
        now=T0,
        disposition="delisted",
    )
    assert [s["step"] for s in again["steps"]] == ["acknowledged", "resolved"]
    assert [status for _, status, _, _ in merchants.changes] == ["delisted", "delisted"]


def test_any_other_refusal_fails_the_step(store):
    class Missing(FakeMerchants):
        def change_status(self, merchant_id, status, reason, changed_by) -> dict:
            raise NotFound(f"no merchant {merchant_id}")

    with pytest.raises(NotFound):
        resolve(store, red_alert(store), Missing(), "delisted")


def test_a_passed_deadline_of_a_closed_merchant_is_done_without_a_delisting(store):
    red_alert(store, "m-closed")
    red_alert(store, "m-open")
    merchants = FakeMerchants(final=("m-closed",))
    late = T0 + timedelta(days=RULES.red_grace_days + 1)
    assert delisting.check_deadlines(store=store, merchants=merchants, now=late) == {
        "delisted": 2,
        "improved": 0,
    }
    assert merchants.changes == [
        ("m-open", "delisted", merchants.changes[0][2], "risk:red-code-deadline")
    ]
    assert delisting.check_deadlines(store=store, merchants=merchants, now=late) == {
        "delisted": 0,
        "improved": 0,
    }, "each deadline is enforced once"
