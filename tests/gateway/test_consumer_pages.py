"""The consumer's pages /app/ without a browser: every route renders its template in Chinese
with the security headers and no inline script or style, the consumer templates load no
ECharts, the receipt check is its own module, and the JavaScript every consumer page can load
stays within 150 KB gzipped (bench/pages_bench.py measures the same set)."""

from __future__ import annotations

import gzip
import re

import pytest

from bench.pages_bench import STATIC, consumer_scripts
from services.gateway.app import create_app
from tests.support.gateway import gateway_settings, served_page

ROUTES = {
    "/app/": "app/home.js",
    "/app/merchants/m-1": "app/merchant.js",
    "/app/cards/card-1": "app/card.js",
    "/app/spends": "app/spends.js",
    "/app/complaints": "app/complaints.js",
    "/app/receipts/event-1": "app/receipt.js",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("consumer-pages")
    return create_app(gateway_settings(tmp_path, "amqp://unused")).test_client()


@pytest.mark.parametrize(("path", "module"), ROUTES.items())
def test_each_consumer_route_renders_its_page_with_the_headers(client, path, module):
    html = served_page(client, path)
    assert f'<script type="module" src="/static/js/{module}"></script>' in html
    assert "/static/vendor/weui/weui.min.css" in html and "echarts" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html and " style=" not in html and " on" + "click=" not in html
    assert 'aria-label="消费者导航"' in html


def test_the_receipt_is_verified_by_its_own_module_with_webcrypto():
    source = (STATIC / "js" / "app" / "receipt-verify.js").read_text()
    assert "crypto.subtle.digest" in source and '"Ed25519"' in source
    page = (STATIC / "js" / "app" / "receipt.js").read_text()
    assert 'from "./receipt-verify.js"' in page and "crypto.subtle" not in page


def test_the_consumer_pages_javascript_stays_within_150_kb_gzipped():
    scripts = consumer_scripts()
    assert "/static/js/app/receipt-verify.js" in scripts  # the graph is followed through imports
    assert "/static/vendor/qrcode-generator/qrcode.mjs" in scripts
    assert not any("echarts" in s for s in scripts)
    total = sum(
        len(gzip.compress((STATIC / s.removeprefix("/static/")).read_bytes(), 9)) for s in scripts
    )
    assert total <= 150 * 1024, f"{total / 1024:.1f} KB gzipped"
