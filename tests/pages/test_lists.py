"""The public 红黑榜 `/lists` on a phone and a desktop: a merchant listed as a 失信 debtor is
on the black list and one with a red code (a closure notice) on the red list, each with its
reason in Chinese and the day it was listed, as the API lists them; no accessibility,
console or off-origin problem."""

from __future__ import annotations

import uuid

import pytest

from tests.support.browser import assert_accessible, screenshot
from tests.support.gateway import auth
from tests.support.harness import wait_until
from tests.support.merchants import onboard


def _flag(platform, merchant_id, regulator, flag):
    flagged = platform.post(
        f"/api/v1/merchants/{merchant_id}/flags",
        json={"flag": flag, "on": True, "source": "court listing"},
        headers=regulator,
    )
    assert flagged.status_code == 200, flagged.get_json()


@pytest.fixture(scope="module")
def listed(platform):
    """A 失信 debtor (black) and a merchant red by a closure notice (red)."""
    tag = uuid.uuid4().hex[:6]
    regulator = auth(platform, "regulator", "r-lists")
    debtor = onboard(platform, name=f"失信健身{tag}", industry="fitness")
    _flag(platform, debtor, regulator, "dishonest_debtor")
    red = onboard(platform, name=f"停业美容{tag}", industry="beauty")
    _flag(platform, red, regulator, "closure_notice")

    red_one = red

    def both_listed():
        lists = platform.get("/api/v1/lists/red-black?limit=500").get_json()
        black = {e["merchant_id"] for e in lists["black"]}
        red = {e["merchant_id"] for e in lists["red"]}
        return lists if debtor in black and red_one in red else None

    lists = wait_until(both_listed, timeout=60, what="both merchants on the lists")
    return {"debtor": debtor, "red": red, "lists": lists, "tag": tag}


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_the_lists_show_each_merchant_with_its_reason(request, device, listed):
    context = request.getfixturevalue(device)
    page = context.new_page()
    response = page.goto("/lists")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("#black[data-state=loaded]", state="attached")
    assert page.locator("html").get_attribute("lang") == "zh-CN"

    debtor = page.locator(f"#black li[data-merchant-id='{listed['debtor']}']")
    assert debtor.locator(".merchant-name").inner_text() == f"失信健身{listed['tag']}"
    assert "失信被执行人" in debtor.locator(".list-reason").inner_text()
    assert debtor.locator(".merchant-meta").inner_text().endswith("列入")
    red = page.locator(f"#red li[data-merchant-id='{listed['red']}']")
    assert "红码" in red.locator(".list-reason").inner_text()
    assert page.locator(f"#red li[data-merchant-id='{listed['debtor']}']").count() == 0
    # The page shows the API's lists, in its order.
    shown = page.locator("#black li").evaluate_all(
        "(items) => items.map((i) => i.dataset.merchantId)"
    )
    assert shown == [e["merchant_id"] for e in listed["lists"]["black"]][: len(shown)]

    screenshot(page, f"lists-{device}")
    assert_accessible(page)
