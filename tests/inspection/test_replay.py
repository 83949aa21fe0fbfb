"""Rebuilding the inspection store's views from position 0 gives the same plans, roster,
inspections, findings and published results as the live service wrote."""

from __future__ import annotations

from datetime import timedelta

from services.inspection.application import codes, commands, replay, visits
from services.inspection.application.store import PLANS
from tests.inspection.fakes import (
    KEY,
    NOW,
    RULES,
    FakeClassifications,
    FakeLedger,
    merchants,
    sqlite_store,
)


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
                "2026Q1",
                "routine",
                "r",
                store=live,
                classifications=classified,
                rules=RULES,
                now=NOW,
                metadata={"correlation_id": f"{dept}-{n}"},
            )
            for n, dept in enumerate(("samr", "education", "samr"))
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
        visits.publish_overdue(store=live, rules=RULES, now=NOW + timedelta(days=40))

        count = replay.replay(live, fresh, rules=RULES)
        assert count == len(list(live.iter_all(0)))
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
