"""The consumer at 375x667 on the real platform: find a merchant in the directory and buy each
of the three card types on its page; my cards in their own units; a spend requested at the
counter (a second browser context, the merchant's) appears without a reload and is confirmed
with one tap, another rejected, and the polling stops while the page is hidden; a confirmed
spend rated, and the merchant page's average changes."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.support.browser import assert_accessible, login_as, screenshot
from tests.support.consumer_pages import (
    buy,
    card_of,
    fits_the_phone,
    new_consumer,
    open_page,
    open_shop,
    request_spend,
)
from tests.support.harness import wait_until

COUNTER_TIMEOUT_MS = 3000
"""The issue asks for a counter's request on the phone within 2 s; polling is every 1 s."""


@pytest.fixture(scope="module")
def shop(platform):
    return open_shop(platform)


def test_find_a_merchant_and_buy_each_card_type(phone, platform, shop):
    consumer = new_consumer()
    login_as(phone, "consumer", consumer)
    page = open_page(phone, "/", "#merchants")
    page.fill("#q", shop.name)
    page.click("#search button[type=submit]")
    page.get_by_role("link", name=shop.name).click()
    page.wait_for_selector("#merchant[data-state=loaded]", state="attached")
    expect(page.locator("#merchant-name")).to_have_text(shop.name)
    expect(page.locator("#merchant-health .health-badge")).to_contain_text("预付健康码")
    expect(page.locator("#inspections-empty")).to_contain_text("暂无公开的监督检查结果")
    assert fits_the_phone(page)
    screenshot(page, "app-merchant")
    assert_accessible(page)

    expected = {"stored_value": "¥1,100.00", "count": "10 次", "period": "30 天"}
    for card_type, balance in expected.items():
        page.click(f"li.product-item[data-type={card_type}] button[data-action=buy]")
        expect(page.locator("#purchase")).to_have_attribute("data-card-status", "active")
        expect(page.locator("#purchase-status")).to_contain_text(f"余额 {balance}")
        page.evaluate("document.getElementById('purchase').removeAttribute('data-card-status')")
    screenshot(page, "app-merchant-bought")

    page = open_page(phone, "/app/", "#cards")
    for card_type, balance in expected.items():
        card = page.locator(f"li.card-item[data-type={card_type}]")
        expect(card).to_have_count(1)
        expect(card.locator(".balance-value")).to_have_text(balance)
        expect(card.locator(".card-meta")).to_contain_text("可使用")
    expect(page.locator("#spends-empty")).to_be_visible()
    assert fits_the_phone(page)
    screenshot(page, "app-home")
    assert_accessible(page)


def test_a_counter_request_appears_without_reload_and_one_tap_confirms_it(
    phone, desktop, platform, shop
):
    consumer = new_consumer()
    card_id = buy(platform, consumer, shop.products["stored_value"])
    login_as(phone, "consumer", consumer)
    login_as(desktop, "merchant", shop.merchant_id)  # the counter, in its own context
    page = open_page(phone, "/app/", "#spends")
    expect(page.locator("#spends-empty")).to_be_visible()
    loads = []
    page.on("load", lambda _: loads.append(1))

    asked = desktop.request.post(
        f"/api/v1/cards/{card_id}/redemptions",
        data={"amount": 2500},
        headers={
            "Authorization": shop.merchant_auth["Authorization"],
            "Idempotency-Key": f"counter-{consumer}",
        },
    )
    assert asked.status == 201, asked.text()
    redemption = asked.json()["redemption_id"]
    started = time.monotonic()
    item = page.locator(f"#spends li[data-redemption-id='{redemption}']")
    expect(item).to_be_visible(timeout=COUNTER_TIMEOUT_MS)
    appeared = time.monotonic() - started
    assert not loads, "the page reloaded"
    expect(item.locator(".spend-merchant")).to_have_text(shop.name)
    expect(item.locator(".spend-what")).to_contain_text("扣款 ¥25.00")
    assert fits_the_phone(page)
    screenshot(page, "app-home-pending")
    assert_accessible(page)

    item.get_by_role("button", name="确认", exact=False).first.click()
    expect(item).to_have_count(0)
    expect(page.locator("#status")).to_contain_text("已确认")
    card = card_of(platform, consumer, card_id)
    assert card["balance"]["value"] == 110000 - 2500
    assert card["released_amount"] > 0
    print(f"counter request shown after {appeared:.2f} s")


def test_a_request_is_rejected_and_polling_stops_while_hidden(phone, platform, shop):
    consumer = new_consumer()
    card_id = buy(platform, consumer, shop.products["count"])
    login_as(phone, "consumer", consumer)
    page = open_page(phone, "/app/spends", "#spends")
    redemption = request_spend(platform, shop, card_id, {"uses": 2})
    item = page.locator(f"#spends li[data-redemption-id='{redemption}']")
    expect(item.locator(".spend-what")).to_contain_text("核销 2 次", timeout=COUNTER_TIMEOUT_MS)
    assert fits_the_phone(page)
    screenshot(page, "app-spends")
    assert_accessible(page)
    item.locator("button[data-action=reject]").click()
    expect(item).to_have_count(0)
    expect(page.locator("#status")).to_contain_text("已拒绝")
    assert card_of(platform, consumer, card_id)["balance"]["uses"] == 10
    mine = platform.get(
        "/api/v1/consumers/me/redemptions?status=rejected",
        headers={"Authorization": f"Bearer {_token(page)}"},
    ).get_json()["items"]
    assert [r["redemption_id"] for r in mine] == [redemption]

    polls = []
    page.on(
        "request", lambda r: polls.append(r.url) if "/consumers/me/redemptions" in r.url else None
    )
    _set_visibility(page, "hidden")
    page.wait_for_timeout(1200)  # a poll already in flight may finish
    polls.clear()
    page.wait_for_timeout(2500)
    assert polls == [], "polled while hidden"
    _set_visibility(page, "visible")
    page.wait_for_timeout(1500)
    assert polls, "polling did not resume when visible again"


def _set_visibility(page, state: str) -> None:
    """As when the phone's screen goes off or the tab goes to the background, and back."""
    page.evaluate(
        """(state) => {
          const get = () => state;
          Object.defineProperty(document, 'visibilityState', { configurable: true, get });
          document.dispatchEvent(new Event('visibilitychange'));
        }""",
        state,
    )


def _token(page) -> str:
    return page.evaluate("JSON.parse(sessionStorage.getItem('prepaid-trust.session')).token")


def test_a_confirmed_spend_is_rated_and_the_merchant_average_changes(phone, platform, shop):
    consumer = new_consumer()
    card_id = buy(platform, consumer, shop.products["period"])
    login_as(phone, "consumer", consumer)
    before = platform.get(f"/api/v1/merchants/{shop.merchant_id}").get_json()["rating"]
    page = open_page(phone, "/app/spends", "#spends")
    redemption = request_spend(platform, shop, card_id, {})
    item = page.locator(f"#spends li[data-redemption-id='{redemption}']")
    expect(item.locator(".spend-what")).to_contain_text("签到一次", timeout=COUNTER_TIMEOUT_MS)
    item.locator("button[data-action=confirm]").click()

    rating = page.locator(f"#to-rate li[data-redemption-id='{redemption}']")
    rating.get_by_label("1星").check()
    rating.get_by_label("简短评价（选填）").fill("教练迟到")
    screenshot(page, "app-spends-rating")
    assert_accessible(page)
    rating.get_by_role("button", name="提交评价").click()
    expect(rating).to_have_attribute("data-state", "rated")

    count = before["count"] + 1
    wait_until(
        lambda: (
            platform.get(f"/api/v1/merchants/{shop.merchant_id}").get_json()["rating"]["count"]
            == count
        ),
        timeout=30,
        what="the rating in the merchant's average",
    )
    after = platform.get(f"/api/v1/merchants/{shop.merchant_id}").get_json()["rating"]
    assert after != before
    page = open_page(phone, f"/app/merchants/{shop.merchant_id}", "#merchant")
    tenths = after["average_tenths"]
    expect(page.locator("#merchant-rating")).to_have_text(
        f"消费者评分：{tenths // 10}.{tenths % 10} / 5（{count} 条评价）"
    )
