"""Browser tests of the pages: one real platform (the `make run` launcher, demo mode) and one
Debian chromium for the whole session, driven by Playwright; phone (375x667) and desktop
(1280x800) contexts that fail their test on a console error (a CSP violation is one), an
uncaught script error, or a request to any host but the gateway.

The fixtures are plain functions here; tests/pages/conftest.py makes them fixtures.
Never `playwright install`: chromium comes from apt (scripts/system-deps.sh browser).
"""

from __future__ import annotations

import json
import shutil
import signal
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from tests.support.harness import ROOT, start_platform, wait_until

SCREENSHOTS = ROOT / "test-artefacts" / "screenshots"
PHONE = {"width": 375, "height": 667}
DESKTOP = {"width": 1280, "height": 800}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SESSION_KEY = "prepaid-trust.session"
"""static/js/session.js keeps the tab's token under this sessionStorage key."""


class HttpResponse:
    """A requests response with the Flask test client's `get_json`, so the support helpers
    written for the test client (tests/support/merchants.py) drive the real platform too."""

    def __init__(self, response: requests.Response):
        self.status_code = response.status_code
        self.headers = response.headers
        self._response = response

    def get_json(self) -> Any:
        return self._response.json()


class HttpClient:
    """The platform over HTTP, shaped like Flask's test client (get/post, json=, headers=)."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()
        self.var: Path | None = None  # the platform's data directory, when the test started it

    def get(self, path: str, headers: dict | None = None, **kwargs) -> HttpResponse:
        return HttpResponse(
            self.http.get(self.base_url + path, headers=headers, timeout=30, **kwargs)
        )

    def post(self, path: str, json: Any = None, headers: dict | None = None) -> HttpResponse:
        headers = {"Idempotency-Key": uuid.uuid4().hex, **(headers or {})}
        return HttpResponse(
            self.http.post(self.base_url + path, json=json, headers=headers, timeout=60)
        )


def running_platform(tmp_dir: Path):
    """Generator for a session fixture: yields an HttpClient on a demo platform whose
    services answer."""
    launcher, url = start_platform(tmp_dir)
    client = HttpClient(url)
    client.var = tmp_dir / "var"  # the platform's data, e.g. the simulated bank's statements
    try:
        wait_until(
            lambda: client.get("/api/v1/merchants").status_code == 200,
            timeout=120,
            what="the platform's directory",
        )
        yield client
    finally:
        launcher.send_signal(signal.SIGINT)
        launcher.wait(60)


def launched_browser():
    """Generator for a session fixture: Debian's chromium under Playwright."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, "chromium is missing: run scripts/system-deps.sh browser"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageWatch:
    """What went wrong in a context's pages, for the test to fail on."""

    origin: str
    console_errors: list[str] = field(default_factory=list)
    off_origin: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [f"console: {m}" for m in self.console_errors] + [
            f"request to another host: {u}" for u in self.off_origin
        ]


def watched_context(browser, base_url: str, viewport: dict):
    """Generator for a fixture: a context at `viewport` whose pages may reach only the
    gateway (anything else is aborted and recorded); fails the test on any problem."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(base_url))
    watch = PageWatch(origin)
    context = browser.new_context(
        base_url=base_url,
        viewport=viewport,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        is_mobile=viewport == PHONE,
        has_touch=viewport == PHONE,
    )

    def route(route_, request):
        if request.url.startswith(("data:", "blob:")) or request.url.startswith(origin + "/"):
            route_.continue_()
        else:
            watch.off_origin.append(request.url)
            route_.abort()

    def on_page(page):
        page.on(
            "console",
            lambda m: watch.console_errors.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: watch.console_errors.append(f"uncaught: {e}"))

    context.route("**/*", route)
    context.on("page", on_page)
    context.watch = watch  # read back by expected_console_errors
    try:
        yield context
    finally:
        context.close()
    assert not watch.problems(), "\n".join(watch.problems())


def expected_console_errors(context, *fragments: str) -> None:
    """Tolerate console errors containing any of `fragments` in this context (the browser
    logs every 4xx a page's fetch receives; a test that provokes one says so)."""
    watch: PageWatch = context.watch
    watch.console_errors[:] = [
        m for m in watch.console_errors if not any(f in m for f in fragments)
    ]


def login_as(context, role: str, subject: str, department: str = "") -> dict:
    """Logs this context's tabs in as `role`/`subject` (a demo dev-login; a regulator with its
    `department`), as the login page would: the token in each tab's sessionStorage. Returns the
    login's answer."""
    answer = context.request.post(
        "/api/v1/auth/dev-login",
        data={
            "role": role,
            "subject": subject,
            **({"department": department} if department else {}),
        },
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.ok, answer.text()
    session = json.dumps(answer.json())
    # Set once per tab, so a tab that logs out stays logged out after its next navigation.
    # about:blank has no storage of its own: there the script does nothing.
    context.add_init_script(
        "try { if (location.origin !== 'null' && !sessionStorage.getItem('test-login-done')) {"
        f"  sessionStorage.setItem({json.dumps(SESSION_KEY)}, {json.dumps(session)});"
        "  sessionStorage.setItem('test-login-done', '1');"
        "} } catch (e) {}"
    )
    return answer.json()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_accessible(page) -> None:
    """axe-core over the page as it is now: no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:5])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, "\n".join(bad)
