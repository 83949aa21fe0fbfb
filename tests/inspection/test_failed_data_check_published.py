"""一公开 of the 无感 data check: a failed one is published too (status `visit_raised`), not
only the visit it raises, but not at the draw: that would tell the merchant a visit is coming.
The timer publishes it within the working days' limit."""

from __future__ import annotations

from datetime import timedelta

from services.inspection.application import commands, queries, visits
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
        assert doc["published"] is None, "not at the draw"
        assert queries.published(store, entry["merchant_id"])["items"] == []
        mine = queries.inspections(store, merchant_id=entry["merchant_id"], announced_only=True)
        assert mine["items"] == [], "the merchant is not told either"
        raised = queries.inspection(store, commands.raised_id(entry["inspection_id"]))
        assert raised["published"] is None and raised["status"] == "planned"

        assert visits.publish_overdue(store=store, rules=RULES, now=NOW + timedelta(days=7)) == 0
        later = NOW + timedelta(days=40)  # past 20 working days
        assert visits.publish_overdue(store=store, rules=RULES, now=later) == 1
        doc = queries.inspection(store, entry["inspection_id"])
        assert doc["published"] == {
            "status": "visit_raised",
            "finding": "none",
            "at": later.isoformat(),
        }
        public = queries.published(store, entry["merchant_id"])["items"]
        assert [(p["mode"], p["status"]) for p in public] == [("data", "visit_raised")]
    finally:
        store.close()
