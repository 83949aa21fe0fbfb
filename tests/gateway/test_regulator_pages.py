"""The regulator workbench's pages without a browser: each route renders the workbench with
its navigation, the security headers and no inline script or style; a merchant's id reaches
the drill-down escaped; every label table the workbench needs names what the platform's
Python source can answer (departments, alert statuses, dispositions, listings)."""

from __future__ import annotations

import re

import pytest

from services.gateway.app import create_app
from services.inspection.domain.classification import FINDINGS, RISK_CLASSES
from services.inspection.domain.draw import KINDS, MODES
from services.merchant.domain.model import FLAGS, STATUSES
from services.risk.domain.complaints import ALERT_STEPS, DISPOSITIONS
from services.risk.domain.departments import DEPARTMENTS
from tests.support.error_codes import ROOT
from tests.support.gateway import gateway_settings, served_page

LABELS = ROOT / "services" / "gateway" / "pages" / "static" / "js" / "regulator" / "labels.js"
ROUTES = {
    "/regulator/": "全市概览",
    "/regulator/alerts": "预警处置",
    "/regulator/merchants": "商户查询",
    "/regulator/merchants/m-1": "商户查询",
    "/regulator/reconciliation": "资金对账",
    "/regulator/inspection/plans": "检查计划",
    "/regulator/inspection/plans/pl-1": "检查计划",
    "/regulator/inspections/in-1": "检查任务",
    "/regulator/inspection/inspectors": "检查人员",
    "/regulator/inspection/stats": "检查统计",
}
CHARTS = {
    "/regulator/",
    "/regulator/merchants",
    "/regulator/merchants/m-1",
    "/regulator/inspection/stats",
}
NAV = {"/regulator/inspections/in-1": "检查计划"}
"""A page whose navigation marks another section than its title (an inspection: its plans)."""
INSPECTION_LABELS = LABELS.with_name("inspection-common.js")


@pytest.fixture
def client(tmp_path):
    return create_app(gateway_settings(tmp_path, "amqp://unused")).test_client()


@pytest.mark.parametrize("path, title", ROUTES.items())
def test_each_workbench_page_renders_with_its_headers_and_no_inline_script(client, path, title):
    html = served_page(client, path)
    assert f"<title>{title} - 预付保</title>" in html
    assert f'aria-current="page">{NAV.get(path, title)}</a>' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html and " style=" not in html and " on" + "click=" not in html
    assert ("echarts.min.js" in html) == (path in CHARTS)


def test_a_merchant_id_reaches_the_drill_down_escaped(client):
    html = served_page(client, '/regulator/merchants/"><img src=x>')
    assert 'data-merchant-id="&#34;&gt;&lt;img src=x&gt;"' in html


def test_a_plan_and_an_inspection_id_reach_their_pages_escaped(client):
    html = served_page(client, '/regulator/inspection/plans/"><img src=x>')
    assert 'data-plan-id="&#34;&gt;&lt;img src=x&gt;"' in html
    html = served_page(client, '/regulator/inspections/"><img src=x>')
    assert 'data-inspection-id="&#34;&gt;&lt;img src=x&gt;"' in html


SHARED_LABELS = LABELS.parent.parent / "labels.js"
"""The words several consoles share (departments, inspection modes), which the workbench's
modules import and pass on."""


def _keys(table: str, labels=LABELS) -> set[str]:
    pattern = rf"export const {table} = Object\.freeze\(\{{(.*?)\n?\}}\);"
    body = re.search(pattern, labels.read_text(), re.S) or re.search(
        pattern, SHARED_LABELS.read_text(), re.S
    )
    assert body, table
    return set(re.findall(r'^\s+"?([A-Za-z0-9_:]+)"?:', body.group(1), re.M))


def test_every_department_status_disposition_and_listing_has_chinese_words():
    assert set(DEPARTMENTS) == _keys("DEPARTMENTS")
    assert set(DISPOSITIONS) == _keys("DISPOSITIONS")
    assert set(ALERT_STEPS) | {"open"} <= _keys("ALERT_STATUSES")
    assert set(FLAGS) == _keys("FLAGS")
    assert set(STATUSES) <= _keys("MERCHANT_STATUSES")


def test_every_inspection_code_the_pages_show_has_chinese_words():
    # The draw's kinds and modes, the findings and the classification's rules: what the
    # inspection service can answer.
    source = (ROOT / "services" / "inspection" / "domain" / "classification.py").read_text()
    rules = set(re.findall(r'_reason\(\s*"([a-z_]+)"', source))
    assert rules and rules == _keys("CLASSIFICATION_RULES", INSPECTION_LABELS)
    assert set(KINDS) == _keys("PLAN_KINDS", INSPECTION_LABELS)
    assert set(MODES) == _keys("MODES", INSPECTION_LABELS)
    assert set(FINDINGS) == _keys("FINDINGS", INSPECTION_LABELS)
    assert set(RISK_CLASSES) == _keys("RISK_CLASSES", INSPECTION_LABELS)


def test_every_notarised_event_type_has_chinese_words():
    """The ledger lists (the merchant's drill-down, the consumer's receipts) name each entry's
    event type; a type without words would show as 其他记录."""
    shared = ROOT / "services" / "gateway" / "pages" / "static" / "js" / "labels.js"
    named = set(re.findall(r'^\s+"([a-z]+\.[A-Za-z]+\.v[0-9]+)":', shared.read_text(), re.M))
    types = set()
    for source in (ROOT / "services").glob("*/domain/*.py"):
        types |= set(re.findall(r'"((?:[a-z]+)\.[A-Z][A-Za-z]+\.v[0-9]+)"', source.read_text()))
    assert {t.partition(".")[0] for t in types} >= {"escrow", "merchant", "risk", "inspection"}
    assert types <= named, sorted(types - named)
