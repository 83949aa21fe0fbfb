"""The workbench's inspection pages in chromium against the real platform (issue 14): a
regulator enrols an inspector, opens a special plan for the sports department and draws it
(retrying while the ledger does not hold the commitment yet), sees the draw and the 如何验证
box, whose eligible.json hashes to the committed eligible_hash and re-runs to the same draw;
the inspector and the merchant then check in, record a minor finding and answer it with
evidence through HTTP, as their own pages would; the regulator opens the inspection,
downloads the evidence, accepts the rectification and sees the year's figures and the
merchant's classification. The plan page is screenshot 390 px wide."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import uuid

import pytest
from playwright.sync_api import expect

from services.inspection.domain.calendar import china_year
from tests.support import browser as support
from tests.support.browser import (
    assert_accessible,
    expected_console_errors,
    login_as,
    screenshot,
)
from tests.support.harness import wait_until
from tests.support.merchants import onboard

DEPARTMENT = "sports"  # fitness merchants' department
NARROW = {"width": 390, "height": 844}


def login(platform, role: str, subject: str, department: str = "") -> dict[str, str]:
    body = {"role": role, "subject": subject, **({"department": department} if department else {})}
    answer = platform.post("/api/v1/auth/dev-login", json=body)
    assert answer.status_code == 200, answer.get_json()
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def ok(answer, status=200):
    assert answer.status_code == status, answer.get_json()
    return answer.get_json()


def canonical(obj) -> bytes:
    """The draw's canonical JSON (services/inspection/domain/draw.py)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.fixture(scope="module")
def town(platform):
    """A fitness merchant the inspection service has classified, and a second inspector on
    the sports roster (the test enrols the first through the page)."""
    tag = uuid.uuid4().hex[:6]
    name = f"铁人健身{tag}"
    merchant_id = onboard(platform, name=name, industry="fitness")
    regulator = f"reg-insp-{tag}"
    headers = login(platform, "regulator", regulator, DEPARTMENT)
    # On the 失信 list: credit grade D, tier D, which a year's plan draws whole (share 100%),
    # so the plan below visits this merchant whoever else the session's tests onboarded.
    flag = {"flag": "dishonest_debtor", "on": True, "source": "court listing"}
    ok(platform.post(f"/api/v1/merchants/{merchant_id}/flags", json=flag, headers=headers))

    def tier_d():
        shown = platform.get(f"/api/v1/merchants/{merchant_id}").get_json()["inspection"]
        return shown is not None and shown["tier"] == "D"

    wait_until(tier_d, timeout=60, what="the merchant's inspection tier D")
    second = f"ins-b-{tag}"
    body = {"inspector_id": second, "department": DEPARTMENT, "conflicts": []}
    ok(platform.post("/api/v1/inspection/inspectors", json=body, headers=headers))
    return {
        "tag": tag,
        "merchant_id": merchant_id,
        "name": name,
        "regulator": regulator,
        "headers": headers,
        "inspectors": (f"ins-a-{tag}", second),
    }


def test_a_regulator_draws_a_plan_verifies_it_and_accepts_a_rectification(
    desktop, browser, platform, town, tmp_path
):
    login_as(desktop, "regulator", town["regulator"], department=DEPARTMENT)
    headers = town["headers"]
    first, second = town["inspectors"]

    # 检查人员: enrol the first inspector, with a conflict that is not this merchant.
    page = desktop.new_page()
    page.goto("/regulator/inspection/inspectors")
    page.wait_for_selector("#roster[data-state=loaded]", state="attached")
    page.fill("#enrol-inspector_id", first)
    page.fill("#enrol-conflicts", "m-elsewhere-1, m-elsewhere-2")
    page.click("#enrol button[type=submit]")
    row = page.locator(f"#roster tr[data-inspector-id='{first}']")
    expect(row).to_contain_text("m-elsewhere-1、m-elsewhere-2")
    expect(page.locator(f"#roster tr[data-inspector-id='{second}']")).to_contain_text("可选派")

    # 检查计划: a department's routine plan for a period is opened once (409 plan_exists,
    # and the list shows the open one).
    routine = {"department": DEPARTMENT, "period": "2026Q4", "kind": "routine"}
    existing = ok(platform.post("/api/v1/inspection/plans", json=routine, headers=headers), 201)
    page.goto("/regulator/inspection/plans")
    page.wait_for_selector("#plans[data-state=loaded]", state="attached")
    page.select_option("#open-plan-department", DEPARTMENT)
    page.fill("#open-plan-period", "2026Q4")
    page.click("#open-plan button[type=submit]")
    expect(page.locator("#open-plan .form-error")).to_contain_text("日常检查计划已建立")
    expected_console_errors(desktop, "409")
    expect(page.locator(f"#plans tr[data-plan-id='{existing['plan_id']}']")).to_be_visible()

    # A special plan (every drawn merchant is visited), with its reason.
    page.select_option("#open-plan-department", DEPARTMENT)
    page.fill("#open-plan-period", "2026")
    page.select_option("#open-plan-kind", "special")
    page.click("#open-plan button[type=submit]")
    expect(page.locator("#open-plan-reason-error")).to_contain_text("专项检查须写明理由")
    page.fill("#open-plan-reason", "群众投诉：预付会员卡退费难")
    page.click("#open-plan button[type=submit]")
    page.wait_for_url("**/regulator/inspection/plans/*")
    page.wait_for_selector("#plan[data-state=loaded]", state="attached")
    plan_id = page.locator("#plan").get_attribute("data-plan-id")
    plan = ok(platform.get(f"/api/v1/inspection/plans/{plan_id}", headers=headers))
    assert (plan["period"], plan["kind"], plan["status"]) == ("2026", "special", "committed")
    assert plan["reason"] == "群众投诉：预付会员卡退费难"
    expect(page.locator("#plan-facts [data-field=reason] dd")).to_have_text(plan["reason"])
    facts = page.locator("#plan-facts")
    expect(facts.locator("[data-field=seed_commitment] dd")).to_have_text(plan["seed_commitment"])
    expect(facts.locator("[data-field=eligible_hash] dd")).to_have_text(plan["eligible_hash"])
    expect(facts.locator("[data-field=ledger_event_id] dd")).to_have_text(plan["ledger_event_id"])

    # 抽取: refused (409 commitment_not_notarised, its message shown) until the ledger holds
    # the commitment; the button stays, and a later click draws.
    refusals = []

    def drawn():
        page.click("#draw-button")
        page.wait_for_selector("#draw[data-state=loaded]", state="attached")
        if page.locator("#draw-result").is_visible():
            return True
        text = page.locator("#draw .form-error").inner_text()
        assert "存证账本" in text and "再次点击" in text, text
        refusals.append(text)
        page.evaluate("() => { document.getElementById('draw').dataset.state = 'waiting'; }")
        page.wait_for_timeout(500)
        return None

    wait_until(drawn, timeout=60, what="the commitment in the ledger, then the draw")
    expected_console_errors(desktop, "409")
    expect(page.locator("#draw")).to_be_hidden()
    plan = ok(platform.get(f"/api/v1/inspection/plans/{plan_id}", headers=headers))
    assert plan["status"] == "drawn"
    assert hashlib.sha256(bytes.fromhex(plan["seed"])).hexdigest() == plan["seed_commitment"]
    expect(page.locator("#draw-facts [data-field=seed] dd")).to_have_text(plan["seed"])
    visit = next(i for i in plan["inspections"] if i["merchant_id"] == town["merchant_id"])
    # Two of the sports roster, which other tests of the session may have enrolled in too.
    assert visit["mode"] == "visit" and len(set(visit["inspectors"])) == 2
    drawn_row = page.locator(f"#drawn tr[data-inspection-id='{visit['inspection_id']}']")
    expect(drawn_row).to_contain_text(town["name"])
    expect(drawn_row).to_contain_text("现场检查")
    expect(drawn_row).to_contain_text(visit["inspectors"][0])
    shown = page.locator("#drawn tbody tr").evaluate_all(
        "(rows) => rows.map((r) => r.dataset.inspectionId)"
    )
    assert shown == [i["inspection_id"] for i in plan["inspections"]]

    # 如何验证: eligible.json is the committed list, and the command re-runs the draw.
    command = f"python -m services.inspection.draw --seed {plan['seed']} --eligible eligible.json"
    expect(page.locator("#verify-command")).to_have_text(command)
    with page.expect_download() as download:
        page.click("#verify-download")
    assert download.value.suggested_filename == "eligible.json"
    eligible_file = tmp_path / "eligible.json"
    download.value.save_as(eligible_file)
    eligible = json.loads(eligible_file.read_text())
    assert hashlib.sha256(canonical(eligible)).hexdigest() == plan["eligible_hash"]
    rerun = subprocess.run(
        [sys.executable, "-m", "services.inspection.draw", "--seed", plan["seed"]]
        + ["--eligible", str(eligible_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(rerun.stdout)["inspections"] == plan["inspections"]
    page.click("#receipt-show")
    receipt = ok(
        platform.get(f"/api/v1/ledger/receipts/{plan['ledger_event_id']}", headers=headers)
    )
    expect(page.locator("#receipt-facts")).to_contain_text(receipt["leaf_hash"])
    screenshot(page, "regulator-inspection-plan")
    assert_accessible(page)

    # The visit as the inspector and the merchant would make it: check-in with the merchant's
    # code, a minor finding, evidence uploaded and the rectification submitted.
    inspection_id = visit["inspection_id"]
    url = f"/api/v1/inspections/{inspection_id}"
    shop = login(platform, "merchant", town["merchant_id"])
    inspector = login(platform, "inspector", visit["inspectors"][0], DEPARTMENT)
    code = ok(
        platform.get(f"/api/v1/merchants/{town['merchant_id']}/inspection-code", headers=shop)
    )
    ok(
        platform.post(
            f"{url}/check-in", json={"merchant_code": code["merchant_code"]}, headers=inspector
        )
    )
    minor = {"finding": "minor", "note": "会员卡退费规则未公示", "rectification_days": 15}
    ok(platform.post(f"{url}/result", json=minor, headers=inspector))
    evidence = f"退费规则已张贴于前台 {town['tag']}".encode() * 50
    sha = hashlib.sha256(evidence).hexdigest()
    put = platform.http.put(
        f"{platform.base_url}/api/v1/evidence/{sha}", data=evidence, headers=shop, timeout=30
    )
    assert put.status_code == 201, put.text
    body = {"evidence_sha256": sha, "note": "已在前台张贴退费规则"}
    ok(platform.post(f"{url}/rectification", json=body, headers=shop))

    # 检查任务: from the draw's row to the inspection, its evidence, 验收.
    page.reload()
    page.wait_for_selector("#plan[data-state=loaded]", state="attached")
    expect(drawn_row).to_contain_text("整改待验收")
    drawn_row.get_by_role("link", name=town["name"]).click()
    page.wait_for_url(f"**/regulator/inspections/{inspection_id}")
    page.wait_for_selector("#inspection[data-state=loaded]", state="attached")
    expect(page.locator("#inspection")).to_have_attribute("data-status", "rectification_submitted")
    expect(page.locator("#check-ins")).to_contain_text(visit["inspectors"][0])
    expect(page.locator("#result-facts [data-field=finding] dd")).to_contain_text("一般问题")
    expect(page.locator("#result-facts")).to_contain_text("会员卡退费规则未公示")
    expect(page.locator("#rectification-facts [data-field=evidence_sha256] dd")).to_have_text(sha)
    with page.expect_download() as download:
        page.click("#evidence-download")
    saved = tmp_path / "evidence"
    download.value.save_as(saved)
    assert saved.read_bytes() == evidence
    page.click("#accept button[type=submit]")
    accepted = page.locator("#rectification-facts [data-field=accepted] dd")
    expect(accepted).to_contain_text("已验收")
    expect(accepted).to_contain_text(f"regulator:{town['regulator']}")
    expect(page.locator("#accept")).to_be_hidden()
    done = ok(platform.get(url, headers=headers))
    assert done["rectification"]["accepted_by"] == f"regulator:{town['regulator']}"
    screenshot(page, "regulator-inspection")
    assert_accessible(page)

    # 检查统计 for the visit's year: the API's figures, in the headline, charts and table.
    year = china_year(done["check_ins"][0]["at"])
    page.goto(f"/regulator/inspection/stats?year={year}")
    page.wait_for_selector("#headline[data-state=loaded]", state="attached")
    stats = ok(platform.get(f"/api/v1/stats/inspections?year={year}", headers=headers))
    assert stats["visits"] >= 1
    headline = page.locator("#headline")
    expect(headline.locator("[data-field=visits] dd")).to_have_text(str(stats["visits"]))
    expect(headline.locator("[data-field=data_checks] dd")).to_have_text(str(stats["data_checks"]))
    bp = stats["share_without_visit_bp"]
    expect(headline.locator("[data-field=share_without_visit_bp] dd")).to_have_text(
        f"{bp // 100}.{bp % 100:02d}%"
    )
    option = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('chart-modes')).getOption()"
    )
    tiers = ("A", "B", "C", "D")
    assert option["series"][0]["data"] == [stats["by_tier"][t]["visits"] for t in tiers]
    assert option["series"][1]["data"] == [stats["by_tier"][t]["data_checks"] for t in tiers]
    tier = done["tier"]
    expect(page.locator(f"#tiers tr[data-tier={tier}] td").first).to_have_text(
        str(stats["by_tier"][tier]["visits"])
    )
    screenshot(page, "regulator-inspection-stats")
    assert_accessible(page)

    # The merchant's drill-down: its classification and this inspection.
    page.goto(f"/regulator/merchants/{town['merchant_id']}")
    page.wait_for_selector("#classification[data-state=loaded]", state="attached")
    card = ok(platform.get(f"/api/v1/merchants/{town['merchant_id']}", headers=headers))
    expect(page.locator("#classification [data-field=tier] dd")).to_have_text(
        f"{card['inspection']['tier']}级"
    )
    expect(page.locator("#classification")).to_contain_text("分级依据")
    page.wait_for_selector("#merchant-inspections[data-state=loaded]", state="attached")
    expect(
        page.locator(f"#merchant-inspections tr[data-inspection-id='{inspection_id}']")
    ).to_be_visible()
    if card["inspection"]["tier"] != "A":
        expect(page.locator("#white-list")).to_be_hidden()
        expect(page.locator("#white-list-note")).to_contain_text("只有 A 级")

    # The plan page 390 px wide: usable without sideways scrolling.
    for narrow in support.watched_context(browser, platform.base_url, NARROW):
        login_as(narrow, "regulator", town["regulator"], department=DEPARTMENT)
        small = narrow.new_page()
        small.goto(f"/regulator/inspection/plans/{plan_id}")
        small.wait_for_selector("#plan[data-state=loaded]", state="attached")
        expect(small.locator("#verify")).to_be_visible()
        width = small.evaluate("() => document.documentElement.scrollWidth")
        assert width <= NARROW["width"] + 1, f"the plan page scrolls sideways ({width}px)"
        screenshot(small, "regulator-inspection-plan-390")
        # A reloaded plan has no draw answer in memory: the download asks for the draw again,
        # which answers the same draw, with the same eligible list.
        with small.expect_download() as again:
            small.click("#verify-download")
        assert json.loads(again.value.path().read_text()) == eligible
