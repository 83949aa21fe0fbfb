"""Plans, the committed draw and the data checks it starts, on a real SQLite store."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from types import MappingProxyType

import pytest

from services.domain_errors import Conflict, InvalidInput, NotFound
from services.inspection import draw as cli
from services.inspection.application import commands, queries
from services.inspection.application.store import CODEC, PLAN_SECRETS
from services.inspection.domain.draw import DrawRules, canonical, draw
from tests.inspection.fakes import (
    NOW,
    RULES,
    FakeClassifications,
    FakeLedger,
    merchants,
    sqlite_store,
)


@pytest.fixture
def store(tmp_path):
    store = sqlite_store(tmp_path)
    yield store
    store.close()


def enrol(store, *ids, department="samr", conflicts=()):
    for inspector_id in ids:
        commands.enrol_inspector(
            inspector_id, department, list(conflicts), "r-1", store=store, rules=RULES, now=NOW
        )


def open_plan(store, classifications, department="samr", period="2026Q1", kind="routine"):
    return commands.open_plan(
        department,
        period,
        kind,
        "r-1",
        reason="专项行动" if kind == "special" else "",
        store=store,
        classifications=classifications,
        rules=RULES,
        now=NOW,
        metadata={"correlation_id": "c-1"},
    )


def test_a_plan_commits_hashes_and_keeps_its_seed_out_of_every_event(store):
    enrol(store, "i-1", "i-2", "i-3")
    classified = FakeClassifications(merchants("C", 10) + merchants("D", 3))
    opened = open_plan(store, classified)
    assert opened["status"] == "committed"
    events = store.read_all(0, 100)
    committed = [e for e in events if e.type == "inspection.PlanCommitted.v1"]
    assert [e.id for e in committed] == [opened["ledger_event_id"]]
    seed = store.get_view(PLAN_SECRETS, opened["plan_id"])["seed"]
    assert opened["seed_commitment"] == hashlib.sha256(bytes.fromhex(seed)).hexdigest()
    assert all(seed not in json.dumps(e.data) for e in events)
    assert queries.plan(store, opened["plan_id"])["seed"] is None
    assert committed[0].data["merchants"] == 13 and committed[0].data["inspectors"] == 3


@pytest.mark.parametrize(
    ("department", "period", "kind", "code"),
    [
        ("nowhere", "2026Q1", "routine", "invalid_department"),
        ("samr", "2026Q5", "routine", "invalid_period"),
        ("samr", "26", "routine", "invalid_period"),
        ("samr", "2026", "sometimes", "invalid_kind"),
    ],
)
def test_a_plan_refuses_bad_input(store, department, period, kind, code):
    with pytest.raises(InvalidInput) as refused:
        open_plan(store, FakeClassifications([]), department, period, kind)
    assert refused.value.code == code


def test_the_draw_waits_for_the_ledger_then_publishes_a_seed_anyone_can_rerun(store):
    enrol(store, "i-1", "i-2", "i-3", "i-4")
    classified = FakeClassifications(merchants("C", 20) + merchants("D", 4))
    opened = open_plan(store, classified)
    not_yet = FakeLedger(holds=False)
    with pytest.raises(Conflict) as refused:
        commands.draw(
            opened["plan_id"],
            "r-1",
            store=store,
            ledger=not_yet,
            classifications=classified,
            rules=RULES,
            now=NOW,
        )
    assert refused.value.code == "commitment_not_notarised"
    assert not_yet.asked == [opened["ledger_event_id"]]
    assert not [e for e in store.read_all(0, 100) if e.type == "inspection.PlanDrawn.v1"]

    answer = commands.draw(
        opened["plan_id"],
        "r-1",
        store=store,
        ledger=FakeLedger(),
        classifications=classified,
        rules=RULES,
        now=NOW,
    )
    assert hashlib.sha256(bytes.fromhex(answer["seed"])).hexdigest() == opened["seed_commitment"]
    assert hashlib.sha256(canonical(answer["eligible"])).hexdigest() == opened["eligible_hash"]
    rerun = draw(answer["seed"], answer["eligible"], DrawRules(shares=dict(RULES.sampling_percent)))
    assert rerun == {"inspections": answer["inspections"], "unstaffed": answer["unstaffed"]}
    assert len(answer["inspections"]) == 3 + 1  # ceil(20*60/400), ceil(4*100/400)
    again = commands.draw(
        opened["plan_id"],
        "r-1",
        store=store,
        ledger=FakeLedger(holds=False),
        classifications=classified,
        rules=RULES,
        now=NOW,
    )
    assert again == answer
    drawn = [e for e in store.read_all(0, 100) if e.type == "inspection.PlanDrawn.v1"]
    assert len(drawn) == 1
    for entry in answer["inspections"]:
        doc = queries.inspection(store, entry["inspection_id"])
        assert doc["status"] == "planned" and doc["inspectors"] == entry["inspectors"]
        mine = queries.inspections(store, assignee=entry["inspectors"][0])["items"]
        assert entry["inspection_id"] in {i["inspection_id"] for i in mine}


def test_an_unknown_plan_is_not_found(store):
    with pytest.raises(NotFound) as missing:
        commands.draw(
            "pl-nope",
            "r-1",
            store=store,
            ledger=FakeLedger(),
            classifications=FakeClassifications([]),
            rules=RULES,
            now=NOW,
        )
    assert missing.value.code == "plan_not_found"


def test_data_checks_run_at_the_draw_and_a_failed_one_raises_a_visit(store):
    enrol(store, "i-1", "i-2", "i-3")
    tier_a = merchants("A", 40)  # ceil(40*5/400) = 1 drawn, a data check
    tier_b = merchants("B", 20)  # ceil(20*20/400) = 1 drawn, a data check
    classified = FakeClassifications(tier_a + tier_b)
    opened = open_plan(store, classified)
    # Which ones are drawn depends on the seed: fail every B merchant's check.
    classified.failing = {m["merchant_id"] for m in tier_b}
    answer = commands.draw(
        opened["plan_id"],
        "r-1",
        store=store,
        ledger=FakeLedger(),
        classifications=classified,
        rules=RULES,
        now=NOW,
    )
    assert {e["mode"] for e in answer["inspections"]} == {"data"}
    assert len(classified.checked) == 2
    types = [e.type for e in store.read_all(0, 100)]
    assert types.count("inspection.DataCheckRecorded.v1") == 2
    assert types.count("inspection.VisitRaised.v1") == 1
    items = queries.inspections(store, plan_id=opened["plan_id"])["items"]
    raised = [i for i in items if i.get("reason") == "data_check_failed"]
    assert len(raised) == 1 and len(raised[0]["inspectors"]) == 2
    assert raised[0]["inspection_id"] == commands.raised_id(raised[0]["raised_from"])
    passed = [i for i in items if i["mode"] == "data" and i["data_check"]["passed"]]
    assert len(passed) == 1 and passed[0]["published"]["status"] == "closed"
    public = queries.published(store, passed[0]["merchant_id"])["items"]
    assert [p["finding"] for p in public] == ["none"] and "inspectors" not in public[0]
    for record in store.read_all(0, 100):
        CODEC.decode(record)  # every event is one of the codec's


def test_visits_of_two_departments_to_one_merchant_merge_into_a_joint_visit(store):
    enrol(store, "i-1", "i-2", department="samr")
    enrol(store, "e-1", "e-2", department="education")
    one = FakeClassifications(merchants("D", 1))  # tier D: always drawn, a visit
    first = open_plan(store, one, "samr")
    second = open_plan(store, one, "education")
    for opened in (first, second):
        commands.draw(
            opened["plan_id"],
            "r-1",
            store=store,
            ledger=FakeLedger(),
            classifications=one,
            rules=RULES,
            now=NOW,
        )
    visits = queries.inspections(store, merchant_id="m-D-000")["items"]
    assert len(visits) == 2
    a, b = visits
    assert a["joint_with"] == [b["inspection_id"]] and b["joint_with"] == [a["inspection_id"]]


def _draw_now(store, opened, classified, rules=RULES):
    return commands.draw(
        opened["plan_id"],
        "r-1",
        store=store,
        ledger=FakeLedger(),
        classifications=classified,
        rules=rules,
        now=NOW,
    )


def test_a_yearly_plan_is_rerun_from_its_published_inputs_alone(store, tmp_path, capsys):
    """The list carries the draw's rules: a year's plan draws a year's share, and the CLI,
    given only the seed and the list, draws the same (it once assumed quarters)."""
    enrol(store, "i-1", "i-2", "i-3")
    classified = FakeClassifications(merchants("C", 20) + merchants("D", 2))
    answer = _draw_now(store, open_plan(store, classified, period="2026"), classified)
    assert len(answer["inspections"]) == 12 + 2  # ceil(20*60/100), ceil(2*100/100)
    assert answer["eligible"]["rules"]["periods"] == 1
    listed = tmp_path / "eligible.json"
    listed.write_text(json.dumps(answer["eligible"]))
    assert cli.main(["--seed", answer["seed"], "--eligible", str(listed)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == {"inspections": answer["inspections"], "unstaffed": answer["unstaffed"]}
    # Rules given that differ from the list's own are refused, not silently applied.
    assert cli.main(["--seed", answer["seed"], "--eligible", str(listed), "--periods", "4"]) == 2


def test_a_policy_changed_between_commitment_and_draw_changes_nothing(store):
    enrol(store, "i-1", "i-2", "i-3")
    classified = FakeClassifications(merchants("C", 20))
    opened = open_plan(store, classified)
    changed = dataclasses.replace(
        RULES, sampling_percent=MappingProxyType({"A": 0, "B": 0, "C": 100, "D": 100})
    )
    answer = _draw_now(store, opened, classified, rules=changed)
    assert len(answer["inspections"]) == 3  # ceil(20*60/400): the committed share, not 100%
    assert hashlib.sha256(canonical(answer["eligible"])).hexdigest() == opened["eligible_hash"]


def test_a_department_has_one_routine_plan_a_period_and_special_ones_need_a_reason(store):
    """Opening the routine plan again would be a fresh seed: a draw again until it suits."""
    classified = FakeClassifications(merchants("C", 3))
    first = open_plan(store, classified, "samr", "2026Q2")
    with pytest.raises(Conflict) as again:
        open_plan(store, classified, "samr", "2026Q2")
    assert again.value.code == "plan_exists" and first["plan_id"] in again.value.message
    assert open_plan(store, classified, "education", "2026Q2")["plan_id"] != first["plan_id"]
    with pytest.raises(InvalidInput) as no_reason:
        commands.open_plan(
            "samr",
            "2026Q2",
            "special",
            "r-1",
            reason="  ",
            store=store,
            classifications=classified,
            rules=RULES,
            now=NOW,
        )
    assert no_reason.value.code == "reason_required"
    special = open_plan(store, classified, "samr", "2026Q2", "special")
    assert queries.plan(store, special["plan_id"])["reason"] == "专项行动"


def test_a_years_routine_plan_and_its_quarters_plans_exclude_each_other(store):
    """Both draw the year's share: a quarter's plan beside the year's would draw it again."""
    classified = FakeClassifications(merchants("C", 3))
    open_plan(store, classified, "samr", "2027")
    with pytest.raises(Conflict) as quarter:
        open_plan(store, classified, "samr", "2027Q3")
    assert quarter.value.code == "plan_exists"
    open_plan(store, classified, "education", "2028Q1")
    with pytest.raises(Conflict) as year:
        open_plan(store, classified, "education", "2028")
    assert year.value.code == "plan_exists"
    assert open_plan(store, classified, "education", "2028Q2")["status"] == "committed"
