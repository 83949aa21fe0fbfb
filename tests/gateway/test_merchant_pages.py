"""The merchant console's pages without a browser: each route renders the console with its
navigation, its security headers and no inline script; every policy cap a product or a
promotion can breach has its words in the console's labels, and every figure of /stats and
/stats/daily a name."""

from __future__ import annotations

import re

import pytest

from services.gateway.app import create_app
from services.gateway.schemas.cards import DailyFigures
from services.gateway.schemas.merchants import MerchantStats
from tests.support.error_codes import ROOT
from tests.support.gateway import gateway_settings, served_page

PAGES = ROOT / "services" / "gateway" / "pages"
LABELS = PAGES / "static" / "js" / "merchant" / "labels.js"
ROUTES = {
    "/merchant/": "经营概况",
    "/merchant/products": "商品与优惠",
    "/merchant/counter": "柜台核销",
    "/merchant/complaints": "投诉处理",
    "/merchant/inspections": "监督检查",
}


@pytest.fixture
def client(tmp_path):
    return create_app(gateway_settings(tmp_path, "amqp://unused")).test_client()


@pytest.mark.parametrize("path, title", ROUTES.items())
def test_each_console_page_renders_with_its_headers_and_no_inline_script(client, path, title):
    html = served_page(client, path)
    assert f"<title>{title} - 预付保</title>" in html
    assert f'aria-current="page">{title}</a>' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html and " style=" not in html and " on" + "click=" not in html
    assert ("echarts.min.js" in html) == (path == "/merchant/")


def test_every_policy_rule_has_chinese_words():
    source = (ROOT / "services" / "merchant" / "domain" / "products.py").read_text()
    rules = set(re.findall(r'"((?:cards|sectors)\.[a-z_.]+)"', source))
    assert len(rules) >= 10, rules  # the pattern still finds the caps
    labels = LABELS.read_text()
    named = set(re.findall(r'^\s+"([a-z_.]+)": "', labels, re.M))
    assert rules <= named, f"no words for: {sorted(rules - named)}"


def test_every_figure_has_a_name():
    labels = LABELS.read_text()
    figures = set(re.findall(r'^\s+\["([a-z_]+)", "', labels, re.M))
    assert figures == set(DailyFigures().fields) - {"day"}
    assert figures <= set(MerchantStats().fields)
