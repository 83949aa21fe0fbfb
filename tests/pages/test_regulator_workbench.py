"""The regulator's workbench in chromium against the real platform, after a scripted city
(tests/support/regulator_city.py: five merchants in five industries, a complaint surge that
turns one red, a default proposed by a first regulator, 600 escalated complaints): the
dashboard's totals equal the sums of GET /stats/city; the queue is filtered and paged past its
first page, and one alert is assigned, acknowledged, verified with an evidence file's SHA-256
and resolved; a second regulator confirms the default and sees the refund's progress reach
100%; the drill-down draws each indicator with its thresholds. Every page is screenshot
(test-artefacts/screenshots/) and scanned by axe (no serious or critical violation)."""

from __future__ import annotations

import hashlib
import json
import time
import uuid

import pytest
from playwright.sync_api import expect

from tests.support import browser as support
from tests.support.browser import assert_accessible, login_as, screenshot
from tests.support.gateway import auth
from tests.support.harness import wait_until
from tests.support.regulator_city import PROPOSER, build_city

REGULATOR = "reg-wang"
MONEY_FIELDS = ("outstanding_liability", "escrow_held", "refunds")
COUNT_FIELDS = ("merchants", "cards_issued", "complaints")


def fen(value: int) -> str:
    """format.js formatFen, for the numbers the page shows."""
    sign = "-" if value < 0 else ""
    yuan, cents = divmod(abs(value), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


@pytest.fixture(scope="module")
def city(platform):
    started = time.monotonic()
    made = build_city(platform)
    assert time.monotonic() - started < 90, "seeding the city took too long"
    return made


@pytest.fixture
def regulator(desktop, city):
    login_as(desktop, "regulator", REGULATOR, department="commerce")
    return desktop


def _open(context, path, ready):
    page = context.new_page()
    page.goto(path)
    page.wait_for_selector(f"{ready}[data-state=loaded]", state="attached")
    return page


def test_the_dashboard_totals_are_the_sums_of_the_citys_industries(regulator, platform, city):
    page = _open(regulator, "/regulator/", "#totals")
    headers = auth(platform, "regulator", REGULATOR)
    items = platform.get("/api/v1/stats/city?by=industry", headers=headers).get_json()["items"]
    assert {"fitness", "education", "catering", "beauty", "retail"} <= {i["key"] for i in items}
    sums = {f: sum(i[f] for i in items) for f in MONEY_FIELDS + COUNT_FIELDS}
    for field in MONEY_FIELDS:
        expect(page.locator(f"#totals [data-field={field}] dd")).to_have_text(fen(sums[field]))
    for field in COUNT_FIELDS:
        expect(page.locator(f"#totals [data-field={field}] dd")).to_have_text(str(sums[field]))
    red = sum(i["by_code"]["red"] for i in items)
    assert red >= 1
    expect(page.locator("#totals [data-field='by_code.red'] dd")).to_have_text(str(red))
    coverage = sums["escrow_held"] * 10_000 // sums["outstanding_liability"]
    expect(page.locator("#totals [data-field=escrow_coverage_bp] dd")).to_have_text(
        f"{coverage // 100}.{coverage % 100:02d}%"
    )
    # The industry chart holds the API's numbers.
    option = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('chart-money')).getOption()"
    )
    assert option["series"][0]["data"] == [i["outstanding_liability"] for i in items]
    page.wait_for_selector("#chart-days[data-state=loaded]", state="attached")
    # The 风险预警名单 beside the charts names the red merchant with its reason.
    page.wait_for_selector("#watch[data-state=loaded]", state="attached")
    entry = page.locator(f"#watch li[data-merchant-id='{city.merchants['潮汐健身']}']")
    expect(entry).to_contain_text("红码")
    expect(entry).to_contain_text("近期投诉集中增加")
    screenshot(page, "regulator-dashboard")
    assert_accessible(page)


def test_the_dashboard_stays_usable_at_phone_width(phone, city):
    login_as(phone, "regulator", REGULATOR)
    page = _open(phone, "/regulator/", "#totals")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375 + 1, f"the page scrolls sideways ({width}px)"
    screenshot(page, "regulator-dashboard-phone")
    assert_accessible(page)


def test_the_queue_is_filtered_and_paged_and_one_alert_is_worked_to_its_end(
    regulator, platform, city
):
    page = _open(regulator, "/regulator/alerts?status=open", "#queue")
    first = page.locator("#queue tbody tr").all_inner_texts()
    assert len(first) == 50
    page.click("#next-page")
    expect(page.locator("#page-number")).to_have_text("第2页")
    page.wait_for_selector("#queue[data-state=loaded]", state="attached")
    second_ids = page.eval_on_selector_all(
        "#queue tbody tr", "rows => rows.map(r => r.dataset.alertId)"
    )
    page.click("#prev-page")
    expect(page.locator("#page-number")).to_have_text("第1页")
    page.wait_for_selector("#queue[data-state=loaded]", state="attached")
    first_ids = page.eval_on_selector_all(
        "#queue tbody tr", "rows => rows.map(r => r.dataset.alertId)"
    )
    assert second_ids and not set(first_ids) & set(second_ids)

    # Filter: the retail merchant's industry, unassigned alerts in its department's facet.
    page.select_option("#filter-facet", "industry")
    page.select_option("#filter-industry", "retail")
    page.select_option("#filter-age", "lt24")  # the age bounds must hold still while paging
    page.click("#filters button[type=submit]")
    expect(page.locator("#page-number")).to_have_text("第1页")
    page.wait_for_selector("#queue[data-state=loaded]", state="attached")
    rows = page.locator("#queue tbody tr")
    expect(rows.first).to_contain_text(city.names["街角零售"])
    assert "industry=retail" in page.url
    for text in rows.all_inner_texts()[:10]:
        assert "商务局" in text
    page.click("#next-page")  # 200 retail alerts: more than one page
    expect(page.locator("#page-number")).to_have_text("第2页")
    page.wait_for_selector("#queue[data-state=loaded]", state="attached")

    row = page.locator("#queue tbody tr").first
    alert_id = row.get_attribute("data-alert-id")
    row.get_by_role("button").click()
    panel = page.locator("#alert-panel")
    expect(panel).to_be_visible()
    page.click("#assign-me")
    expect(page.locator("#alert-steps li[data-step=assigned]")).to_contain_text(REGULATOR)
    page.click("#acknowledge button[type=submit]")
    expect(panel).to_have_attribute("data-status", "acknowledged")
    evidence = b"%PDF-1.4 on-site inspection report"
    page.fill("#verify-note", "现场核查：商户已停业，门店关闭。")
    page.set_input_files(
        "#verify-evidence",
        files=[{"name": "inspection.pdf", "mimeType": "application/pdf", "buffer": evidence}],
    )
    digest = hashlib.sha256(evidence).hexdigest()
    expect(page.locator("#verify-evidence-sha")).to_contain_text(digest)
    page.click("#verify button[type=submit]")
    expect(panel).to_have_attribute("data-status", "verified")
    expect(page.locator("#alert-steps li[data-step=verified]")).to_contain_text(digest)
    page.select_option("#resolve-disposition", "rectification_ordered")
    page.fill("#resolve-note", "责令七日内退款")
    page.click("#resolve button[type=submit]")
    expect(panel).to_have_attribute("data-status", "resolved")
    screenshot(page, "regulator-alerts")
    assert_accessible(page)

    headers = auth(platform, "regulator", REGULATOR)
    found = platform.get(
        f"/api/v1/alerts?status=resolved&assignee={REGULATOR}", headers=headers
    ).get_json()["items"]
    worked = next(a for a in found if a["alert_id"] == alert_id)
    steps = [(s["step"], s["by"]) for s in worked["steps"]]
    assert [s for s, _ in steps] == ["acknowledged", "verified", "resolved"]
    assert all(REGULATOR in by for _, by in steps)
    assert [(a["assignee"], a["by"]) for a in worked["assignments"]] == [
        (REGULATOR, f"regulator:{REGULATOR}")
    ]
    assert all(s["department"] == "commerce" for s in [*worked["steps"], *worked["assignments"]])
    assert worked["disposition"] == "rectification_ordered"
    assert next(s for s in worked["steps"] if s["step"] == "verified")["evidence_sha256"] == digest


def test_a_second_regulator_confirms_the_default_and_the_refund_reaches_100_percent(
    regulator, platform, city
):
    merchant_id = city.merchants["明日教育"]
    page = _open(regulator, f"/regulator/merchants/{merchant_id}", "#merchant-facts")
    expect(page.locator("#default-state")).to_contain_text("待另一名监管人员确认")
    page.click("#default-open")
    page.fill("#default-reason", "确认：停业失联")
    page.fill("#default-name", "别的名字")
    page.click("#default-submit")
    expect(page.locator("#default-name-error")).to_contain_text("不一致")
    page.fill("#default-name", city.names["明日教育"])
    page.click("#default-submit")
    bar = page.locator("#default-progress")
    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=20_000)
    expect(bar).to_have_attribute("role", "progressbar")
    expect(page.locator("#default-figures")).to_contain_text("3/3")
    expect(page.locator("#merchant-facts")).to_have_attribute("data-status", "defaulted")
    screenshot(page, "regulator-default")
    assert_accessible(page)
    progress = platform.get(
        f"/api/v1/merchants/{merchant_id}/default/progress",
        headers=auth(platform, "regulator", REGULATOR),
    ).get_json()
    assert progress["status"] == "finished" and progress["cards_refunded"] == 3
    assert PROPOSER != REGULATOR


def test_the_drill_down_draws_each_indicator_with_its_thresholds(regulator, platform, city):
    page = _open(regulator, "/regulator/merchants", "#results")
    page.fill("#search-q", city.names["潮汐健身"])
    page.press("#search-q", "Enter")
    expect(page.get_by_role("link", name=city.names["潮汐健身"])).to_be_visible()
    screenshot(page, "regulator-search")
    assert_accessible(page)
    page.get_by_role("link", name=city.names["潮汐健身"]).click()
    page.wait_for_selector("#indicator-charts[data-state=loaded]", state="attached")
    merchant_id = city.merchants["潮汐健身"]
    assert page.url.endswith(f"/regulator/merchants/{merchant_id}")
    expect(page.locator("#merchant-code")).to_contain_text("红码")
    today = time.strftime("%Y-%m-%d", time.gmtime())
    history = platform.get(
        f"/api/v1/merchants/{merchant_id}/health/history?from={today}&to={today}",
        headers=auth(platform, "regulator", REGULATOR),
    ).get_json()
    indicator = "complaints_per_thousand_cards"
    option = page.evaluate(
        "(id) => echarts.getInstanceByDom(document.getElementById(id)).getOption()",
        f"indicator-{indicator}",
    )
    series = option["series"][0]
    assert series["data"][-1] == history["days"][-1][indicator]
    lines = {line["name"]: line["yAxis"] for line in series["markLine"]["data"]}
    assert lines == {
        "绿码阈值": history["thresholds"][indicator]["green"],
        "红码阈值": history["thresholds"][indicator]["red"],
    }
    expect(page.locator("#changes")).to_contain_text("→ 红码")
    expect(page.locator("#complaints tbody tr")).to_have_count(5)
    expect(page.locator("#reinstate-note")).to_contain_text("仅已下架")

    # 账本记录: the merchant's published entries, newest first, each with its receipt.
    headers = auth(platform, "regulator", REGULATOR)
    wait_until(
        lambda: platform.get(f"/api/v1/merchants/{merchant_id}/ledger", headers=headers).get_json()[
            "items"
        ],
        what="a published ledger entry of the merchant",
    )
    page.reload()
    page.wait_for_selector("#ledger-entries[data-state=loaded]", state="attached")
    rows = page.locator("#ledger-entries tbody tr")
    expect(rows.first).to_be_visible()
    listed = platform.get(
        f"/api/v1/merchants/{merchant_id}/ledger?limit=100", headers=headers
    ).get_json()["items"]
    shown = rows.evaluate_all("(rows) => rows.map((r) => r.dataset.eventId)")
    assert shown and set(shown) <= {item["event_id"] for item in listed}
    indexes = rows.evaluate_all("(rows) => rows.map((r) => Number(r.dataset.index))")
    assert indexes == sorted(indexes, reverse=True)
    first = next(item for item in listed if item["event_id"] == shown[0])
    expect(rows.first).to_contain_text(f"第 {first['index']} 条")
    if "amount" in first:
        expect(rows.first).to_contain_text(fen(first["amount"]))
    expect(rows.first.locator("td").nth(1)).not_to_contain_text("其他记录")
    receipt = platform.get(f"/api/v1/ledger/receipts/{shown[0]}", headers=headers).get_json()
    rows.first.get_by_role("button", name="查看收据").click()
    facts = page.locator("#receipt-facts")
    expect(facts).to_contain_text(f"第 {first['index']} 条（共")
    expect(facts).to_contain_text(receipt["leaf_hash"])
    expect(facts).to_contain_text(receipt["checkpoint"]["origin"])
    expect(page.locator("#receipt-event")).to_have_value(shown[0])
    screenshot(page, "regulator-merchant")
    assert_accessible(page)


def test_a_day_the_bank_disagrees_shows_its_difference_and_opens_an_alert(regulator, platform):
    """Runs late in this module: it moves the platform's clock a day, so the day ends and is
    reconciled by the escrow's scheduled work, with one unexpected line on the statement."""
    assert platform.var is not None
    statements = sorted((platform.var / "bank" / "statements").glob("*.jsonl"))
    assert statements, "the city's deposits are on a statement"
    today = statements[-1]
    day = today.stem
    with today.open("a") as statement:
        statement.write(
            json.dumps(
                {
                    "at": f"{day}T10:00:00+00:00",
                    "kind": "payout",
                    "reference": "po-not-ours",
                    "account": "m-unknown",
                    "amount": 12_345,
                }
            )
            + "\n"
        )
    operator = auth(platform, "operator", "ops-1")
    moved = platform.post(
        "/api/v1/demo/clock",
        json={"days": 1},
        headers={**operator, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert moved.status_code == 200, moved.get_data(as_text=True)

    page = _open(regulator, "/regulator/reconciliation", "#days")
    row = page.locator(f"#days tr[data-date='{day}']")
    expect(row).to_have_attribute("data-status", "differences")
    expect(row).to_contain_text("有差异")
    expect(row).to_contain_text("银行有平台未记录的款项：结算划付商户 po-not-ours，¥123.45")
    screenshot(page, "regulator-reconciliation")
    assert_accessible(page)

    headers = auth(platform, "regulator", REGULATOR)

    def recon_alert() -> dict | None:
        queue = platform.get(
            "/api/v1/alerts?status=open&department=commerce&code=red&limit=500", headers=headers
        ).get_json()["items"]
        return next((a for a in queue if a["alert_id"] == f"al-recon-{day}"), None)

    alert = wait_until(recon_alert, timeout=30, what="the reconciliation difference's alert")
    assert alert["merchant_id"] == ""
    assert alert["reasons"][0]["indicator"] == "reconciliation_difference"


def test_a_regulator_logs_in_with_a_department_and_lands_on_the_workbench(browser, platform):
    for context in support.watched_context(browser, platform.base_url, support.DESKTOP):
        page = context.new_page()
        page.goto("/login")
        page.wait_for_selector("body[data-ready=true]", state="attached")
        page.fill("#regulator-id", "reg-li")
        page.select_option("#regulator-department", "education")
        page.click("#demo-regulator button[type=submit]")
        page.wait_for_url("**/regulator/", timeout=10_000)
        expect(page.locator("#regulator-name")).to_contain_text("教育局")
        page.goto("/")
        expect(page.get_by_role("link", name="信用监管驾驶舱（监管人员）")).to_have_attribute(
            "href", "/regulator/"
        )
