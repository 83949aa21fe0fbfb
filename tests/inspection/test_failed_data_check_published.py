"""一公开 of the 无感 data check: a failed one is published too (status `visit_raised`), not
only the visit it raises."""

from __future__ import annotations

from services.inspection.application import commands, queries
from tests.inspection.fakes import (
    NOW,
    RULES,
    FakeClassifications,
    FakeLedger,
    merchants,
    sqlite_store,
)


def test_a_failed_data_check_is_published_as_visit_raised(tmp_path):
    store = sqlite_store(tmp_path)
    try:
        for inspector_id in ("i-1", "i-2"):
            commands.enrol_inspector(
                inspector_id, "samr", [], "r", store=store, rules=RULES, now=NOW
            )
        tier_b = merchants("B", 20)  # one drawn, a data check
        classified = FakeClassifications(tier_b, failing={m["merchant_id"] for m in tier_b})
        opened = commands.open_plan(
            "samr",
            "2026Q1",
            "routine",
            "r",
            store=store,
            classifications=classified,
            rules=RULES,
            now=NOW,
            metadata={"correlation_id": "c-1"},
        )
        answer = commands.draw(
            opened["plan_id"],
            "r",
            store=store,
            ledger=FakeLedger(),
            classifications=classified,
            rules=RULES,
            now=NOW,
        )
        (entry,) = answer["inspections"]
        doc = queries.inspection(store, entry["inspection_id"])
        assert doc["data_check"]["passed"] is False
        assert doc["published"] == {
            "status": "visit_raised",
            "finding": "none",
            "at": NOW.isoformat(),
        }
        public = queries.published(store, entry["merchant_id"])["items"]
        assert [(p["mode"], p["status"]) for p in public] == [("data", "visit_raised")]
        raised = queries.inspection(store, commands.raised_id(entry["inspection_id"]))
        assert raised["published"] is None and raised["status"] == "planned"
    finally:
        store.close()
