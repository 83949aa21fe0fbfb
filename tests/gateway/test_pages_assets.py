"""The pages' files without a browser: the vendored third-party files match their manifest
and the locked npm versions; every error code the platform can answer, and every indicator,
listing, status and industry it can show, has its Chinese words in the pages' scripts; the
page routes carry the security headers and the login page knows its platform's mode."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from services.gateway import signing_key
from services.gateway.app import create_app
from services.gateway.pages import CONTENT_SECURITY_POLICY
from services.merchant.domain.model import INDUSTRIES
from services.risk.domain.health_code import HARD_FLAGS, HARD_STATUSES
from services.risk.domain.indicators import PUBLIC_METRICS
from tests.support.error_codes import ROOT, answerable_error_codes
from tests.support.gateway import gateway_settings

STATIC = ROOT / "services" / "gateway" / "pages" / "static"
VENDOR = STATIC / "vendor"


def _js_keys(path: Path, table: str) -> set[str]:
    """The keys of `export const <table> = Object.freeze({ ... });` in a static JS module."""
    body = re.search(
        rf"export const {table} = Object\.freeze\(\{{(.*?)\n\}}\);", path.read_text(), re.S
    )
    assert body, f"{table} not found in {path.name}"
    return set(re.findall(r'^\s+"?([a-z0-9_:]+)"?:', body.group(1), re.M))


def test_every_vendored_file_matches_its_manifest_and_the_locked_version():
    manifest = json.loads((VENDOR / "MANIFEST.json").read_text())["files"]
    lock = json.loads((ROOT / "web" / "package-lock.json").read_text())["packages"]
    pinned = json.loads((ROOT / "web" / "package.json").read_text())["dependencies"]
    listed = {entry["file"] for entry in manifest}
    on_disk = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()}
    assert on_disk - {"MANIFEST.json"} == listed, "a vendored file is missing or unlisted"
    for entry in manifest:
        digest = hashlib.sha256((VENDOR / entry["file"]).read_bytes()).hexdigest()
        assert digest == entry["sha256"], f"{entry['file']} differs from its manifest"
        assert lock[f"node_modules/{entry['name']}"]["version"] == entry["version"]
    for name, version in pinned.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is not pinned exactly"
        assert lock[f"node_modules/{name}"]["version"] == version
    assert {"weui", "echarts", "qrcode-generator", "jsqr"} <= {e["name"] for e in manifest}


def test_every_answerable_error_code_has_a_chinese_message():
    codes = answerable_error_codes()
    assert {"invalid_input", "uscc_taken", "rate_limited", "not_found"} <= codes  # sanity
    missing = codes - _js_keys(STATIC / "js" / "messages.js", "MESSAGES")
    assert not missing, f"no Chinese message in messages.js for: {sorted(missing)}"


def test_every_reason_metric_and_industry_has_a_chinese_label():
    labels = STATIC / "js" / "labels.js"
    source = (ROOT / "services" / "risk" / "domain" / "health_code.py").read_text()
    # The indicators a reason can name: the literal first argument of each `_reason(`.
    indicators = set(re.findall(r'_reason\(\s*"([a-z0-9_]+)"', source))
    indicators |= {f"status:{s}" for s in HARD_STATUSES} | {f"flag:{f}" for f in HARD_FLAGS}
    assert len(indicators) >= 12, indicators  # the pattern still finds the reasons
    assert indicators <= _js_keys(labels, "INDICATORS")
    assert set(PUBLIC_METRICS) <= _js_keys(labels, "METRICS")
    assert set(INDUSTRIES) <= _js_keys(labels, "INDUSTRIES")


@pytest.fixture
def client(tmp_path):
    return create_app(gateway_settings(tmp_path, "amqp://unused")).test_client()


@pytest.mark.parametrize("path", ["/", "/login", "/static/js/api.js", "/static/css/base.css"])
def test_pages_and_their_files_carry_the_security_headers(client, path):
    answer = client.get(path)
    assert answer.status_code == 200
    assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "same-origin"


def test_module_scripts_are_served_as_javascript(client):
    for path in ("/static/js/api.js", "/static/vendor/qrcode-generator/qrcode.mjs"):
        assert client.get(path).mimetype == "text/javascript"


def test_no_page_has_inline_script_or_style(client):
    for path in ("/", "/login"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert "<style" not in html and " style=" not in html and " on" + "click=" not in html


def test_the_login_page_offers_the_role_picker_only_in_demo_mode(tmp_path, client):
    assert 'data-demo="true"' in client.get("/login").get_data(as_text=True)
    (tmp_path / "prod").mkdir()
    signing_key.create(tmp_path / "prod" / "jwt.pem", "production")
    production = create_app(
        gateway_settings(tmp_path / "prod", "amqp://unused", mode="production")
    ).test_client()
    assert 'data-demo="false"' in production.get("/login").get_data(as_text=True)
    assert production.post("/api/v1/auth/dev-login", json={}).status_code == 404


def test_no_consumer_page_loads_echarts():
    """ECharts is for the merchant and regulator consoles; consumer pages stay light."""
    templates = ROOT / "services" / "gateway" / "pages" / "templates"
    consumer = [
        t for t in templates.rglob("*.html") if 'extends "consumer_base.html"' in t.read_text()
    ]
    assert consumer, "no consumer page found"
    for template in [templates / "consumer_base.html", templates / "base.html", *consumer]:
        assert "echarts" not in template.read_text(), template.name


def test_the_console_base_renders_a_page(client):
    from flask import render_template_string

    with client.application.test_request_context("/"):
        html = render_template_string(
            '{% extends "console_base.html" %}{% block title %}工作台{% endblock %}'
            "{% block main %}<p>内容</p>{% endblock %}"
        )
    assert '<html lang="zh-CN">' in html and "/static/css/console.css" in html
    assert 'class="console-shell"' in html and "<p>内容</p>" in html and "weui" not in html
