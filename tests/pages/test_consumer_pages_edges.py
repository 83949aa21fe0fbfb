"""The consumer's pages at their edges, at 375x667 on the real platform: no session sends the
consumer to log in and back; a red merchant's page shows its reasons and warning and a
purchase refused in Chinese; a bank slower than the demo's (the card still pending payment)
is waited for until the card is active."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import assert_accessible, expected_console_errors, login_as, screenshot
from tests.support.consumer_pages import new_consumer, open_page, open_shop
from tests.support.gateway import auth
from tests.support.harness import wait_until


@pytest.fixture(scope="module")
def shop(platform):
    return open_shop(platform)


def test_without_a_session_the_consumer_logs_in_and_comes_back(phone):
    page = phone.new_page()
    page.goto("/app/spends")
    page.wait_for_url("**/login?next=%2Fapp%2Fspends")
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#consumer-id", new_consumer())
    page.click("#demo-consumer button[type=submit]")
    page.wait_for_url("**/app/spends")
    page.wait_for_selector("#spends[data-state=loaded]", state="attached")


def test_a_red_merchant_shows_its_reasons_and_a_purchase_is_refused_in_chinese(phone, platform):
    red = open_shop(platform)
    flagged = platform.post(
        f"/api/v1/merchants/{red.merchant_id}/flags",
        json={"flag": "dishonest_debtor", "on": True, "source": "court listing"},
        headers=auth(platform, "regulator", "r-pages"),
    )
    assert flagged.status_code == 200, flagged.get_json()
    wait_until(
        lambda: (
            platform.get(f"/api/v1/merchants/{red.merchant_id}").get_json()["health_code"] == "red"
        ),
        timeout=60,
        what="the red code",
    )
    login_as(phone, "consumer", new_consumer())
    page = open_page(phone, f"/app/merchants/{red.merchant_id}", "#merchant")
    expect(page.locator(".health-badge")).to_have_text("预付健康码：红码")
    expect(page.locator(".health-reasons")).to_contain_text("被列入失信被执行人名单")
    warning = page.get_by_test_id("public-warning")
    expect(warning).to_contain_text("风险提示")
    assert "red" not in warning.inner_text()
    screenshot(page, "app-merchant-red")
    assert_accessible(page)

    page.click("li.product-item[data-type=count] button[data-action=buy]")
    expect(page.locator("#purchase-status")).to_have_text("购卡未完成：该商户目前不能售卡。")
    expected_console_errors(phone, "422")


def test_a_card_pending_payment_is_waited_for_until_active(phone, platform, shop):
    """The bank of a production platform confirms later: the page polls GET /cards/{id}."""
    login_as(phone, "consumer", new_consumer())
    page = open_page(phone, f"/app/merchants/{shop.merchant_id}", "#merchant")
    pending_reads = []

    def as_pending(route):
        answer = route.fetch()
        route.fulfill(response=answer, json={**answer.json(), "status": "pending_payment"})

    def first_reads_pending(route):
        answer = route.fetch()
        body = answer.json()
        if len(pending_reads) < 2:
            pending_reads.append(body["card_id"])
            body = {**body, "status": "pending_payment"}
        route.fulfill(response=answer, json=body)

    page.route("**/api/v1/cards", as_pending)
    page.route("**/api/v1/cards/card-*", first_reads_pending)
    page.click("li.product-item[data-type=period] button[data-action=buy]")
    expect(page.locator("#purchase-status")).to_contain_text("等待存管银行确认付款")
    expect(page.locator("#purchase")).to_have_attribute("data-card-status", "active")
    expect(page.locator("#purchase-status")).to_contain_text("购卡成功：月卡已可使用，余额 30 天")
    assert len(pending_reads) == 2


def test_a_purchase_whose_answer_was_lost_is_not_made_twice_by_a_second_tap(phone, platform, shop):
    """The platform sells the card but the phone never hears back (the connection drops): the
    consumer taps 购买 again, and that request carries the first one's Idempotency-Key, so the
    platform answers the first purchase instead of selling a second card."""
    consumer = new_consumer()
    login_as(phone, "consumer", consumer)
    page = open_page(phone, f"/app/merchants/{shop.merchant_id}", "#merchant")
    keys = []

    def lose_the_first_answer(route):
        keys.append(route.request.headers.get("idempotency-key"))
        answer = route.fetch()  # the platform does the purchase...
        if len(keys) == 1:
            route.abort("connectionreset")  # ...but its answer never reaches the phone
        else:
            route.fulfill(response=answer)

    page.route("**/api/v1/cards", lose_the_first_answer)
    buy = "li.product-item[data-type=count] button[data-action=buy]"
    page.click(buy)
    expect(page.locator("#purchase-status")).to_contain_text("网络连接失败")
    page.click(buy)
    expect(page.locator("#purchase")).to_have_attribute("data-card-status", "active")
    assert len(keys) == 2 and keys[0] == keys[1], keys
    mine = platform.get("/api/v1/consumers/me/cards", headers=auth(platform, "consumer", consumer))
    assert len(mine.get_json()["items"]) == 1, "one card, not two"
    expected_console_errors(phone, "ERR_CONNECTION_RESET", "net::ERR_FAILED")
