"""The inspection pages without a browser (issue 14): the inspector's routes render with the
pages' headers and no inline script, and every code the inspection service can show them
(department, mode, finding, an inspection's status, a published status, a tier) has its
Chinese words in static/js/inspection.js."""

from __future__ import annotations

import re

import pytest

from services.gateway.app import create_app
from services.inspection.application import projections
from services.inspection.domain.classification import FINDINGS
from services.inspection.domain.draw import MODES, TIERS
from services.risk.domain.departments import DEPARTMENTS
from tests.support.error_codes import ROOT
from tests.support.gateway import gateway_settings, served_page

JS = ROOT / "services" / "gateway" / "pages" / "static" / "js"
WORDS = JS / "inspection.js"
SHARED = JS / "labels.js"
"""Where inspection.js takes the words several pages share (departments, modes) from."""
SERVICE = ROOT / "services" / "inspection" / "application"


def _keys(table: str) -> set[str]:
    pattern = rf"export const {table} = Object\.freeze\(\{{(.*?)\n\}}\);"
    body = re.search(pattern, WORDS.read_text(), re.S) or re.search(
        pattern, SHARED.read_text(), re.S
    )
    assert body, f"{table} not found"
    return set(re.findall(r'^\s+"?([A-Za-z0-9_]+)"?:', body.group(1), re.M))


@pytest.fixture
def client(tmp_path):
    return create_app(gateway_settings(tmp_path, "amqp://unused")).test_client()


@pytest.mark.parametrize(
    "path, title",
    [("/inspector/", "我的检查任务"), ("/inspector/inspections/in-0123", "检查任务")],
)
def test_the_inspector_pages_render_with_their_headers_and_no_inline_script(client, path, title):
    html = served_page(client, path)
    assert f"<title>{title} - 预付保</title>" in html
    assert "weui.min.css" in html and "inspection.css" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html and " style=" not in html


def test_every_inspection_code_has_chinese_words():
    source = "\n".join(p.read_text() for p in SERVICE.glob("*.py"))
    statuses = set(re.findall(r'"status": "([a-z_]+)"', source)) | set(projections.MERGEABLE)
    statuses |= set(re.findall(r'status = "([a-z_]+)"', source))
    published = {"closed", "referred", "rectified", "rectification_overdue"}
    published |= {"rectification_ordered"}
    assert published <= set(re.findall(r'"([a-z_]+)"', source)), "the service's words changed"
    assert set(DEPARTMENTS) == _keys("DEPARTMENTS")
    assert set(MODES) <= _keys("MODES")
    assert set(FINDINGS) <= _keys("FINDINGS")
    assert set(TIERS) <= _keys("TIERS")
    assert published <= _keys("PUBLISHED_RESULTS")
    inspection_statuses = statuses - published - {"committed", "drawn"}  # a plan's statuses
    assert len(inspection_statuses) >= 6, inspection_statuses  # the patterns still find them
    assert inspection_statuses <= _keys("INSPECTION_STATUSES")
