"""Rebuilding the inspection store from position 0 of the platform's events gives the same
plans, roster, inspections, findings and published results as the live service wrote, and the
same facts and classifications (tiers, grades, the white list)."""

from __future__ import annotations

from datetime import datetime, timedelta

from eventstore import NewEvent, Tracking
from eventstore.sqlite import SqliteEventStore
from policy import load_policy
from services.inspection.adapters.local_classifications import LocalClassifications
from services.inspection.application import classifications, codes, commands, replay, visits
from services.inspection.application.store import PLANS
from services.inspection.service import InspectionService
from tests.inspection.fakes import (
    KEY,
    NOW,
    RULES,
    FakeClassifications,
    FakeLedger,
    merchants,
    sqlite_store,
)

POLICY = load_policy()


class Platform:
    """The merchant, escrow and risk stores, each event recorded at its scripted time and
    delivered to the live inspection store as its consumers do (dedupe record and all)."""

    def __init__(self, folder, live):
        self.live, self.at = live, NOW
        self.sources = {
            name: SqliteEventStore(folder / f"{name}.db", clock=lambda: self.at)
            for name in replay.SOURCES
        }
        self.versions: dict[str, int] = {}

    def publish(self, event_type: str, at: datetime, **data) -> str:
        self.at = at
        source = event_type.split(".")[0]
        stream = f"{source}-{data.get('merchant_id') or data.get('day')}"
        version = self.versions.get(stream, 0)
        with self.sources[source].unit_of_work() as uow:
            uow.append(stream, [NewEvent(f"{event_type}.v1", data, {})], version)
        self.versions[stream] = version + 1
        record = self.sources[source].read_stream(stream)[-1]
        with self.live.unit_of_work() as uow:  # service.py: _observe in the consumer's unit
            uow.track(Tracking(replay.CONSUMERS[source], record.id))
            when = record.data.get("at") or record.recorded_at.isoformat()
            classifications.observe(uow, record.type, record.data, when, RULES, views=self.live)
        return record.id

    def close(self) -> None:
        for store in self.sources.values():
            store.close()


def no_sources(folder) -> dict:
    """The platform's stores before any merchant: only the inspection's own events."""
    return {name: sqlite_store(folder, f"empty-{name}") for name in replay.SOURCES}


def test_the_consumers_named_are_the_services_handlers():
    for consumer in replay.CONSUMERS.values():
        service, handler = consumer.split(".")
        assert service == InspectionService.name and callable(getattr(InspectionService, handler))


def test_a_replay_from_position_zero_rebuilds_every_view(tmp_path):
    live, fresh = sqlite_store(tmp_path, "live"), sqlite_store(tmp_path, "fresh")
    try:
        for inspector_id, department in (
            ("i-1", "samr"),
            ("i-2", "samr"),
            ("e-1", "education"),
            ("e-2", "education"),
        ):
            commands.enrol_inspector(
                inspector_id, department, [], "r", store=live, rules=RULES, now=NOW
            )
        classified = FakeClassifications(
            merchants("D", 1) + merchants("A", 40) + merchants("B", 20),
            failing={f"m-B-{i:03d}" for i in range(20)},
        )
        plans = [
            commands.open_plan(
                dept,
                period,
                "routine",
                "r",
                store=live,
                classifications=classified,
                rules=RULES,
                now=NOW,
                metadata={"correlation_id": f"{dept}-{n}"},
            )
            for n, (dept, period) in enumerate(
                (("samr", "2026Q1"), ("education", "2026Q1"), ("samr", "2026Q2"))
            )
        ]
        for opened in plans[:2]:  # the third stays committed: its seed is still secret
            commands.draw(
                opened["plan_id"],
                "r",
                store=live,
                ledger=FakeLedger(),
                classifications=classified,
                rules=RULES,
                now=NOW,
            )
        visit = next(
            i
            for i in live.get_view(PLANS, plans[0]["plan_id"])["inspections"]
            if i["mode"] == "visit"
        )
        code = codes.merchant_code(visit["merchant_id"], key=KEY, now=NOW, valid_minutes=10)
        for inspector in visit["inspectors"]:
            visits.check_in(
                visit["inspection_id"],
                inspector,
                code["merchant_code"],
                store=live,
                key=KEY,
                classifications=classified,
                rules=RULES,
                now=NOW,
            )
        visits.record_result(
            visit["inspection_id"],
            visit["inspectors"][0],
            "minor",
            "x",
            10,
            store=live,
            rules=RULES,
            now=NOW,
        )
        later = NOW + timedelta(days=40)
        visits.publish_overdue(store=live, rules=RULES, now=later)
        classifications.reclassify_all(live, RULES, later)  # the live timer's sweep

        empty = no_sources(tmp_path)
        done = replay.replay(empty, live, fresh, rules=RULES, now=later)
        for store in empty.values():
            store.close()
        own = [r for r in live.iter_all(0) if not r.stream.startswith("classification-")]
        assert done.own_events == len(own)
        assert done.derived_skipped == len(list(live.iter_all(0))) - len(own)
        rebuilt, original = replay.views(fresh), replay.views(live)
        assert rebuilt == original
        assert len(original[PLANS]) == 3
        assert any(doc["joint_with"] for _, doc in original["inspections"])
        assert original["published_results"]
        # the undrawn plan can still be drawn from the fresh store, with the committed seed
        answer = commands.draw(
            plans[2]["plan_id"],
            "r",
            store=fresh,
            ledger=FakeLedger(),
            classifications=classified,
            rules=RULES,
            now=NOW,
        )
        assert (
            commands.drawing.commitment(bytes.fromhex(answer["seed"]))
            == plans[2]["seed_commitment"]
        )
    finally:
        live.close()
        fresh.close()


def script_city(platform: Platform) -> dict[str, str]:
    """Four merchants over 200 days before NOW: one green all along (tier A by time alone),
    a gym (class I: tier B) with a card, a refund paid on its day and a complaint answered,
    a school that turned red 20 days ago (tier D), and a shop that closed."""
    start = NOW - timedelta(days=200)
    for merchant_id, industry in (
        ("m-good", "retail"),
        ("m-gym", "fitness"),
        ("m-red", "education"),
        ("m-shut", "retail"),
    ):
        platform.publish(
            "merchant.MerchantApplied", start, merchant_id=merchant_id, industry=industry
        )
        platform.publish("merchant.MerchantApproved", start, merchant_id=merchant_id)
    for merchant_id in ("m-good", "m-gym", "m-red"):
        platform.publish(
            "risk.HealthCodeChanged",
            start + timedelta(hours=1),
            merchant_id=merchant_id,
            code="green",
            evaluated_at=(start + timedelta(hours=1)).isoformat(),
        )
    sold, refunded = NOW - timedelta(days=60), NOW - timedelta(days=40)
    ids = {
        "deposit": platform.publish(
            "escrow.DepositConfirmed",
            sold,
            merchant_id="m-gym",
            card_id="c-1",
            payment_id="p-1",
            amount=100_000,
            upfront_amount=0,
        )
    }
    platform.publish(
        "escrow.CardRefunded",
        refunded,
        merchant_id="m-gym",
        card_id="c-1",
        rule="on_request",
        refund_amount=10_000,
        refunded_at=refunded.isoformat(),
    )
    platform.publish(
        "escrow.ReconciliationCompleted",
        refunded + timedelta(days=1),
        day=refunded.date().isoformat(),
        status="balanced",
        differences=[],
        differences_total=0,
    )
    filed = NOW - timedelta(days=30)
    platform.publish(
        "risk.ComplaintFiled",
        filed,
        merchant_id="m-gym",
        complaint_id="k-1",
        filed_at=filed.isoformat(),
    )
    platform.publish(
        "risk.ComplaintResponded",
        filed + timedelta(hours=5),
        merchant_id="m-gym",
        complaint_id="k-1",
        responded_at=(filed + timedelta(hours=5)).isoformat(),
    )
    red = NOW - timedelta(days=20)
    platform.publish(
        "risk.HealthCodeChanged",
        red,
        merchant_id="m-red",
        code="red",
        evaluated_at=red.isoformat(),
    )
    platform.publish(
        "merchant.MerchantStatusChanged",
        NOW - timedelta(days=10),
        merchant_id="m-shut",
        status="closed",
    )
    return ids


def test_a_replay_folds_the_platform_events_and_rebuilds_the_classification(tmp_path):
    """The live store as the service builds it: consumed events, the timer's sweeps, a
    white-listing, a plan drawn on the live classification (a data check and a visit), the
    visit's minor finding rectified and accepted; then a replay from position 0 of all four
    stores, swept at the live store's last sweep, into a fresh store."""
    live, fresh = sqlite_store(tmp_path, "live"), sqlite_store(tmp_path, "fresh")
    platform = Platform(tmp_path, live)
    try:
        ids = script_city(platform)
        classifications.reclassify_all(live, RULES, NOW)  # the timer: m-good's 180 green days
        assert classifications.get(live, "m-good")["tier"] == "A"
        listed = classifications.set_white_list(
            live, "m-good", True, "连续两年无投诉", "regulator:r-1", NOW + timedelta(minutes=1)
        )
        assert listed["white_listed"] is True
        for inspector_id in ("i-1", "i-2", "i-3"):
            commands.enrol_inspector(
                inspector_id, "samr", [], "r", store=live, rules=RULES, now=NOW
            )
        at = NOW + timedelta(minutes=2)
        local = LocalClassifications(live, RULES, POLICY.refunds, at)
        opened = commands.open_plan(
            "samr", "2026", "routine", "r", store=live, classifications=local, rules=RULES, now=at
        )
        commands.draw(
            opened["plan_id"],
            "r",
            store=live,
            ledger=FakeLedger(),
            classifications=local,
            rules=RULES,
            now=at,
        )
        drawn = {
            i["merchant_id"]: i for i in live.get_view(PLANS, opened["plan_id"])["inspections"]
        }
        assert {m: i["mode"] for m, i in drawn.items()} == {"m-gym": "data", "m-red": "visit"}, (
            "m-good is white-listed, m-shut closed; tier B is data-checked, tier D visited"
        )
        visit = drawn["m-red"]
        at += timedelta(hours=1)
        code = codes.merchant_code("m-red", key=KEY, now=at, valid_minutes=10)
        for inspector in visit["inspectors"]:
            visits.check_in(
                visit["inspection_id"],
                inspector,
                code["merchant_code"],
                store=live,
                key=KEY,
                classifications=local,
                rules=RULES,
                now=at,
            )
        visits.record_result(
            visit["inspection_id"],
            visit["inspectors"][0],
            "minor",
            "消防通道堵塞",
            10,
            store=live,
            rules=RULES,
            now=at + timedelta(hours=1),
        )
        visits.submit_rectification(
            visit["inspection_id"],
            "m-red",
            "ab" * 32,
            "已清理",
            store=live,
            rules=RULES,
            now=at + timedelta(days=3),
        )
        accepted = at + timedelta(days=5)
        visits.accept_rectification(
            visit["inspection_id"], "regulator:r-1", store=live, rules=RULES, now=accepted
        )
        swept = {}
        for days in (1, 30, 50, 100):  # the timer, now and then; the last sweep is the replay's
            last = NOW + timedelta(days=days)
            if days == 30:
                platform.publish(
                    "risk.HealthCodeChanged",
                    last,
                    merchant_id="m-red",
                    code="green",
                    evaluated_at=last.isoformat(),
                )
            classifications.reclassify_all(live, RULES, last)
            visits.publish_overdue(store=live, rules=RULES, now=last)
            swept[days] = classifications.get(live, "m-red")["credit_grade"]
        assert swept == {1: "D", 30: "C", 50: "C", 100: "C"}, "red: D, then red within a year: C"

        done = replay.replay(platform.sources, live, fresh, rules=RULES, now=last)

        rebuilt, original = replay.views(fresh), replay.views(live)
        assert {name: len(rows) for name, rows in rebuilt.items()} == {
            name: len(rows) for name, rows in original.items()
        }
        for name in replay.ALL_VIEWS:
            assert rebuilt[name] == original[name], name
        shown = {m: classifications.get(fresh, m) for m in ("m-good", "m-gym", "m-red", "m-shut")}
        assert {m: (c["risk_class"], c["credit_grade"], c["tier"]) for m, c in shown.items()} == {
            "m-good": ("II", "A", "A"),
            "m-gym": ("I", "A", "B"),
            "m-red": ("I", "C", "D"),
            "m-shut": ("II", "B", "B"),  # never assessed: not green 180 days
        }
        assert shown["m-good"]["white_listed"] is True
        facts = fresh.get_view(classifications.FACTS, "m-red")
        assert [f["rectified_on"] for f in facts["findings"].values()] == [
            accepted.date().isoformat()
        ]
        assert done.source_events == {"merchant": 9, "escrow": 3, "risk": 7}
        assert done.white_listings_skipped == 0
        # the regulator's white-listing is copied, same id; the classification changes are
        # the fold's own, and each view's version is its fresh stream's length
        live_listing = [
            r for r in live.read_stream(classifications.stream("m-good")) if r.type == replay.LISTED
        ]
        fresh_stream = fresh.read_stream(classifications.stream("m-good"))
        assert [r.id for r in fresh_stream if r.type == replay.LISTED] == [live_listing[0].id]

        def states(store, merchant_id):
            return [
                (r.type, r.data.get("credit_grade"), r.data.get("tier"), r.data["white_listed"])
                for r in store.read_stream(classifications.stream(merchant_id))
            ]

        # here the replay writes the changes the live sweeps wrote, in the same order: m-good's
        # tier A by time alone before its white-listing (brought up to its time), and m-gym's
        # tier B (its 180th green day) at the final sweep instead of the first one
        assert {m: states(fresh, m) for m in shown} == {m: states(live, m) for m in shown}
        gym_live, gym_fresh = (
            [r.data["at"] for r in store.read_stream(classifications.stream("m-gym"))][-1]
            for store in (live, fresh)
        )
        assert (gym_live, gym_fresh) == (NOW.isoformat(), last.isoformat())
        live_ids = {r.id for r in live.iter_all(0) if r.type == replay.DERIVED}
        assert not live_ids & {r.id for r in fresh.iter_all(0) if r.type == replay.DERIVED}
        for merchant_id in shown:
            stream = fresh.read_stream(classifications.stream(merchant_id))
            doc = fresh.get_view(classifications.CLASSIFICATIONS, merchant_id)
            assert doc["version"] == len(stream)
            last_change = [r.data for r in stream if r.type == replay.DERIVED][-1]
            assert (last_change["tier"], last_change["white_listed"]) == (
                doc["tier"],
                doc["white_listed"],
            )
        # the fresh store goes live: the regulator's next command appends after the replay's
        # events, and a redelivered deposit is recognised as already folded
        off = classifications.set_white_list(
            fresh, "m-good", False, "专项检查", "regulator:r-1", last + timedelta(minutes=1)
        )
        assert off["white_listed"] is False
        assert fresh.is_processed(replay.CONSUMERS["escrow"], ids["deposit"])
    finally:
        platform.close()
        live.close()
        fresh.close()
