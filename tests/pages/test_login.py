"""/login in demo mode: the role picker logs in as each role and goes back to `next`; a
`next` off this site is ignored; 退出 revokes the token and forgets it."""

from __future__ import annotations

import uuid

import pytest

from tests.support.browser import (
    SESSION_KEY,
    assert_accessible,
    expected_console_errors,
    login_as,
    screenshot,
)
from tests.support.merchants import onboard


@pytest.fixture(scope="module")
def merchant(platform):
    return onboard(platform, name=f"登录测试商户{uuid.uuid4().hex[:6]}", industry="catering")


def _session(page):
    return page.evaluate(f"JSON.parse(sessionStorage.getItem('{SESSION_KEY}'))")


def test_the_role_picker_logs_in_as_each_role_and_returns_to_next(phone, platform, merchant):
    page = phone.new_page()
    page.goto("/login?next=/%3Findustry%3Dcatering")
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#production-login").is_hidden()
    screenshot(page, "login-phone")
    assert_accessible(page)

    page.fill("#consumer-id", "c-pages")
    page.click("#demo-consumer button[type=submit]")
    page.wait_for_url("**/?industry=catering")
    assert _session(page)["role"] == "consumer" and _session(page)["subject"] == "c-pages"
    assert page.locator("#session-role").inner_text() == "当前身份：消费者"

    page.goto("/login?next=/")
    page.wait_for_selector(f"#merchant-id option[value='{merchant}']", state="attached")
    page.select_option("#merchant-id", merchant)
    page.click("#demo-merchant button[type=submit]")
    page.wait_for_url(f"{platform.base_url}/")
    assert _session(page) | {"token": ""} == {"token": "", "role": "merchant", "subject": merchant}

    page.goto("/login?next=/login")
    page.wait_for_selector("body[data-ready=true]")
    page.click("#demo-regulator button[type=submit]")
    page.wait_for_url(f"{platform.base_url}/login")
    page.wait_for_selector("body[data-ready=true]")
    assert _session(page) | {"token": ""} == {
        "token": "",
        "role": "regulator",
        "subject": "demo-regulator",
        "department": "samr",
    }
    assert page.locator("#session-role").inner_text() == "当前身份：监管人员"


@pytest.mark.parametrize("bad_next", ["//evil.example", "https://evil.example/", "/\\evil.example"])
def test_a_next_off_this_site_is_ignored(desktop, platform, bad_next):
    page = desktop.new_page()
    page.goto(f"/login?next={bad_next}")
    page.wait_for_selector("body[data-ready=true]")
    page.click("#demo-consumer button[type=submit]")
    # Ignored as if absent: the consumer's own start page, on this site.
    page.wait_for_url(f"{platform.base_url}/app/")
    # /app/ itself comes with the consumer's pages; a 404 for it is not this page's fault.
    expected_console_errors(desktop, "404 (NOT FOUND)")


def test_logout_revokes_the_token_and_forgets_it(desktop, platform):
    session = login_as(desktop, "consumer", "c-logout")
    page = desktop.new_page()
    page.goto("/")
    page.wait_for_selector("#merchants[data-state=loaded]", state="attached")
    assert page.locator("#session-role").inner_text() == "当前身份：消费者"
    with page.expect_response("**/api/v1/auth/logout") as logout:
        page.click("#logout")
    assert logout.value.status == 200
    page.wait_for_selector("#login-link:visible")
    assert _session(page) is None
    revoked = platform.get(
        "/api/v1/consumers/me/cards", headers={"Authorization": f"Bearer {session['token']}"}
    )
    assert revoked.status_code == 401
