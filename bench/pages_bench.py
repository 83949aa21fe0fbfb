"""The consumer's pages under Debian chromium (Playwright), all in this one run:

* for the home page `/app/` and a card page `/app/cards/<id>`: bytes transferred on a cold
  load (the HTML, WeUI and our CSS, the JS modules and the API answers) and time to first
  render (`first-contentful-paint` from the paint timings), the median of N cold loads,
  beside a static HTML page of the same byte size served by the same gateway app: the page
  as drawn (its DOM without scripts, its CSS inline) padded to the page's transferred bytes.
  Target: the page's first render within 1.5 times the static copy's. The time until the
  page's data is drawn (its `data-state=loaded`) is printed too, without a target: it
  includes the API calls through RabbitMQ to the services;
* the JavaScript every consumer page loads, gzipped, summed over the union of the pages'
  scripts (target: at most 150 KB).

The gateway is the real app (create_app) on waitress in this process, in demo mode, in front
of the real merchant, escrow and risk services on a throwaway RabbitMQ node; the static copy
is a bench-only route added to that app here, never to the platform's.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

import requests

from devenv.ports import free_port
from devenv.rabbitmq import RabbitNode
from tests.support.browser import CHROMIUM_ARGS
from tests.support.harness import start_service, stop, wait_until

STATIC = Path(__file__).resolve().parent.parent / "services" / "gateway" / "pages" / "static"
LOADS = 15  # cold loads per page (median)
RATIO_TARGET = 1.5
JS_BUDGET_KB = 150
STATIC_PATH = "/bench/static-copy/<name>"
PAGES = ("home", "card")

# Set before the page's own scripts run: when the page's main list or article turns
# data-state=loaded, the time is kept for the bench to read.
READY_PROBE = """
new MutationObserver((_, observer) => {
  const done = document.querySelector('#cards[data-state=loaded], #card[data-state=loaded]');
  if (done && window.__benchReady === undefined) {
    window.__benchReady = performance.now();
    observer.disconnect();
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
"""
READY_DONE = "() => window.__benchReady !== undefined"
PAINTED = "() => performance.getEntriesByName('first-contentful-paint').length > 0"
TIMINGS = """() => {
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  const nav = performance.getEntriesByType('navigation')[0];
  const resources = performance.getEntriesByType('resource');
  return {
    fcp: paint ? paint.startTime : null,
    ready: window.__benchReady ?? null,
    bytes: nav.transferSize + resources.reduce((n, r) => n + r.transferSize, 0),
    scripts: resources.filter((r) => r.initiatorType === 'script' || r.name.endsWith('.js')
      || r.name.endsWith('.mjs')).map((r) => new URL(r.name).pathname),
  };
}"""


class Gateway:
    """The gateway app on waitress in this process, with the bench-only static route."""

    def __init__(self, base: Path, amqp_uri: str):
        import waitress

        from services.gateway.app import create_app
        from services.gateway.settings import GatewaySettings

        self.port = free_port()
        settings = GatewaySettings(
            amqp_uri=amqp_uri,
            port=self.port,
            mode="demo",
            jwt_key_file=str(base / "jwt.pem"),
            idempotency_db=str(base / "idempotency.db"),
            revocation_db=str(base / "revoked.db"),
        )
        self.app = create_app(settings)
        self.copies: dict[str, bytes] = {}
        self.app.add_url_rule(STATIC_PATH, "bench_static_copy", self._copy)
        self.server = waitress.create_server(self.app, host="127.0.0.1", port=self.port, threads=8)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.port}"

    def _copy(self, name: str):
        return self.app.response_class(self.copies[name], mimetype="text/html")

    def close(self) -> None:
        self.server.close()
        self.app.config["RPC_POOL"].close()


class Api:
    def __init__(self, url: str):
        self.url = url
        self.http = requests.Session()

    def token(self, role: str, subject: str) -> str:
        answer = self.http.post(
            f"{self.url}/api/v1/auth/dev-login", json={"role": role, "subject": subject}
        )
        answer.raise_for_status()
        return answer.json()["token"]

    def post(self, path: str, body: dict | None, token: str) -> dict:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
        answer = self.http.post(f"{self.url}/api/v1{path}", json=body, headers=headers)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    def ready(self) -> bool:
        try:
            return self.http.get(f"{self.url}/api/v1/merchants", timeout=5).status_code == 200
        except requests.RequestException:
            return False


def _shop(api: Api) -> tuple[dict, str]:
    """A merchant with one product of each type, a consumer holding a card of each with a
    confirmed spend on the stored-value one; the consumer's login and that card's id."""
    from tests.support.merchants import application, fresh_uscc

    made = api.post("/merchants", application(uscc=fresh_uscc()), api.token("operator", "op-1"))
    merchant_id = made["merchant_id"]
    api.post(f"/merchants/{merchant_id}/approve", None, api.token("operator", "op-2"))
    merchant = api.token("merchant", merchant_id)
    products = [
        {
            "type": "stored_value",
            "name": "储值卡",
            "price": 100000,
            "bonus": 10000,
            "validity_days": 365,
        },
        {"type": "count", "name": "十次卡", "price": 50000, "uses": 10, "validity_days": 180},
        {"type": "period", "name": "月卡", "price": 30000, "period_days": 30},
    ]
    login = api.http.post(
        f"{api.url}/api/v1/auth/dev-login", json={"role": "consumer", "subject": "c-bench-pages"}
    ).json()
    cards = []
    for product in products:
        made = api.post(f"/merchants/{merchant_id}/products", product, merchant)
        cards.append(api.post("/cards", {"product_id": made["product_id"]}, login["token"]))
    card_id = cards[0]["card_id"]
    spend = api.post(f"/cards/{card_id}/redemptions", {"amount": 1500}, merchant)
    api.post(f"/redemptions/{spend['redemption_id']}/confirm", None, login["token"])
    return login, card_id


def _load(browser, url: str, path: str, login: dict | None) -> dict:
    """One cold load (a fresh context: no cache) of `path`, and its timings."""
    context = browser.new_context(base_url=url, viewport={"width": 375, "height": 667})
    try:
        if login:
            session = json.dumps(json.dumps(login))
            context.add_init_script(
                f"sessionStorage.setItem('prepaid-trust.session', {session});{READY_PROBE}"
            )
        page = context.new_page()
        page.goto(path, wait_until="load")
        # Polled with evaluate: wait_for_function evaluates a string, which the CSP refuses.
        done = READY_DONE if login else PAINTED
        wait_until(lambda: page.evaluate(done), timeout=30, interval=0.02, what=f"{path} drawn")
        return page.evaluate(TIMINGS) | {"html": page.evaluate(_DRAWN) if login else ""}
    finally:
        context.close()


_DRAWN = """() => {
  const copy = document.documentElement.cloneNode(true);
  copy.querySelectorAll('script, link[rel=stylesheet]').forEach((n) => n.remove());
  return '<!doctype html>' + copy.outerHTML;
}"""


def _static_copy(gateway: Gateway, name: str, drawn: str, size: int) -> None:
    """The drawn page with its CSS inline, padded with a comment to `size` bytes."""
    css = "".join(
        (STATIC / p).read_text()
        for p in ("vendor/weui/weui.min.css", "css/consumer.css", "css/base.css")
    )
    html = drawn.replace("</head>", f"<style>{css}</style></head>", 1).encode()
    # Waitress's and the page's headers differ a little; the body is what is sized.
    padding = max(0, size - len(html) - len(b"<!---->"))
    gateway.copies[name] = html + b"<!--" + b" " * padding + b"-->"


def _median(samples: list[dict], key: str) -> float:
    return statistics.median(s[key] for s in samples)


def consumer_scripts() -> set[str]:
    """Every script any consumer page loads: each template extending the consumer base, its
    <script src>, and every module those import, followed through their `from "./x.js"`."""
    templates = STATIC.parent / "templates"
    found: set[str] = set()
    todo = []
    for template in templates.rglob("*.html"):
        text = template.read_text()
        if 'extends "consumer_base.html"' in text:
            todo += re.findall(r"static\('([^']+\.m?js)'\)", text)
    while todo:
        relative = todo.pop()
        if f"/static/{relative}" in found:
            continue
        found.add(f"/static/{relative}")
        folder = Path(relative).parent
        for imported in re.findall(r'from\s+"(\.[^"]+)"', (STATIC / relative).read_text()):
            todo.append(os.path.normpath(folder / imported))
    return found


def _js_total_gzipped(api: Api, scripts: set[str]) -> float:
    total = 0
    for path in sorted(scripts):
        body = api.http.get(f"{api.url}{path}").content
        total += len(gzip.compress(body, compresslevel=9))
    return total / 1024


def run(report) -> None:
    from playwright.sync_api import sync_playwright

    base = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    node = RabbitNode(base / "rabbit")
    processes: list[subprocess.Popen] = []
    gateway = None
    try:
        uri = node.start().amqp_uri
        processes = [start_service(s, base, uri) for s in ("merchant", "escrow", "risk")]
        gateway = Gateway(base, uri)
        api = Api(gateway.url)
        wait_until(api.ready, timeout=120, interval=0.5, what="the gateway and services")
        login, card_id = _shop(api)
        paths = {"home": "/app/", "card": f"/app/cards/{card_id}"}
        chromium = shutil.which("chromium")
        assert chromium, "chromium is missing: run scripts/system-deps.sh browser"
        scripts: set[str] = set()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            for name in PAGES:
                _load(browser, gateway.url, paths[name], login)  # warm the server, not the browser
                pages = [_load(browser, gateway.url, paths[name], login) for _ in range(LOADS)]
                scripts.update(*(p["scripts"] for p in pages))
                size = int(_median(pages, "bytes"))
                _static_copy(gateway, name, pages[-1]["html"], size)
                static_path = STATIC_PATH.replace("<name>", name)
                statics = [_load(browser, gateway.url, static_path, None) for _ in range(LOADS)]
                fcp, static_fcp = _median(pages, "fcp"), _median(statics, "fcp")
                label = f"static HTML of the same size ({_median(statics, 'bytes') / 1024:,.0f} KB)"
                report(f"consumer {name} page: bytes transferred, cold", size / 1024, None, "KB")
                report(
                    f"consumer {name} page: first render (FCP, median)",
                    fcp,
                    static_fcp,
                    "ms",
                    baseline=label,
                )
                ok = fcp / static_fcp <= RATIO_TARGET
                print(f"{'':<48} [target ratio <= {RATIO_TARGET}: {'ok' if ok else 'MISSED'}]")
                if not ok:
                    report.failures.append(f"consumer {name} page first render")
                report(
                    "  (its data drawn, median; API calls included)",
                    _median(pages, "ready"),
                    None,
                    "ms",
                )
            browser.close()
        every_script = consumer_scripts()
        assert scripts <= every_script, f"a loaded script not found in the templates: {scripts}"
        report(
            f"JS on the consumer pages, gzipped ({len(every_script)} files)",
            _js_total_gzipped(api, every_script),
            None,
            "KB",
            absolute_target=JS_BUDGET_KB,
            lower_is_better=True,
        )
    finally:
        if gateway is not None:
            gateway.close()
        for process in processes:
            stop(process)
        node.stop()
        shutil.rmtree(base, ignore_errors=True)
