"""The public directory `/` on a phone and a desktop: merchants made through the API with
their 预付健康码, a red one's reasons and warning in Chinese, the industry filter, paging,
the security headers, and no accessibility, console or off-origin problem."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.support.browser import assert_accessible, expected_console_errors, screenshot
from tests.support.gateway import auth
from tests.support.harness import wait_until
from tests.support.merchants import onboard


@pytest.fixture(scope="module")
def shops(platform):
    """Three merchants of this module (a unique name tag): a gym and a school listed green or
    unassessed, and a school turned red by a 失信 listing."""
    tag = uuid.uuid4().hex[:6]
    gym = onboard(platform, name=f"健身房{tag}", industry="fitness")
    school = onboard(platform, name=f"学堂{tag}", industry="education")
    red = onboard(platform, name=f"红码学校{tag}", industry="education")
    flagged = platform.post(
        f"/api/v1/merchants/{red}/flags",
        json={"flag": "dishonest_debtor", "on": True, "source": "court listing"},
        headers=auth(platform, "regulator", "r-pages"),
    )
    assert flagged.status_code == 200, flagged.get_json()
    wait_until(
        lambda: platform.get(f"/api/v1/merchants/{red}").get_json()["health_code"] == "red",
        timeout=60,
        what="the flagged merchant's red code",
    )
    return {"tag": tag, "gym": gym, "school": school, "red": red}


def _open(context, path="/"):
    page = context.new_page()
    response = page.goto(path)
    page.wait_for_selector("#merchants[data-state=loaded]", state="attached")
    return page, response


def _card(page, merchant_id):
    return page.locator(f"li.merchant-card[data-merchant-id='{merchant_id}']")


def _show_all(page, merchant_ids):
    """Presses 加载更多 until every merchant of `merchant_ids` is listed."""
    while any(_card(page, m).count() == 0 for m in merchant_ids):
        assert page.locator("#more").is_visible(), "a merchant is missing from the directory"
        page.click("#more")
        page.wait_for_selector("#merchants[data-state=loaded]", state="attached")


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_the_directory_lists_merchants_with_their_codes_and_red_reasons(request, device, shops):
    context = request.getfixturevalue(device)
    page, response = _open(context, "/?industry=education")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"

    _show_all(page, [shops["school"], shops["red"]])
    red = _card(page, shops["red"])
    assert "预付健康码：红码" in red.locator(".health-badge").inner_text()
    assert "被列入失信被执行人名单" in red.locator(".health-reasons").inner_text()
    warning = red.get_by_test_id("public-warning").inner_text()
    assert "风险提示" in warning and "红码" in warning and "red" not in warning
    assert red.get_by_role("link").get_attribute("href") == f"/app/merchants/{shops['red']}"
    # The industry filter: only schools, in Chinese.
    industries = page.locator(".merchant-meta").all_inner_texts()
    assert industries and all(text.startswith("教育培训") for text in industries)
    assert _card(page, shops["gym"]).count() == 0
    assert page.locator("html").get_attribute("lang") == "zh-CN"

    screenshot(page, f"directory-{device}")
    assert_accessible(page)


def test_choosing_an_industry_filters_the_list(desktop, shops):
    page, _ = _open(desktop)
    page.select_option("#industry", "fitness")
    page.click("#search button[type=submit]")
    page.wait_for_url("**/?industry=fitness")
    page.wait_for_selector("#merchants[data-state=loaded]", state="attached")
    _show_all(page, [shops["gym"]])
    assert _card(page, shops["school"]).count() == 0
    industries = page.locator(".merchant-meta").all_inner_texts()
    assert industries and all(text.startswith("健身") for text in industries)
    expect(page.locator("#status")).to_contain_text("已显示")


def test_more_merchants_load_page_by_page(phone, platform, shops):
    """Twenty to a page: with more merchants listed than that, 加载更多 appends the next."""
    listed = platform.get("/api/v1/merchants?limit=500").get_json()["items"]
    for _ in range(21 - len(listed)):
        onboard(platform, name=f"商户{uuid.uuid4().hex[:6]}", industry="retail")
    page, _ = _open(phone)
    assert page.locator("li.merchant-card").count() == 20
    page.click("#more")
    page.wait_for_selector("#merchants[data-state=loaded]", state="attached")
    assert page.locator("li.merchant-card").count() > 20
    ids = page.locator("li.merchant-card").evaluate_all(
        "(cards) => cards.map((c) => c.dataset.merchantId)"
    )
    assert len(ids) == len(set(ids)), "a merchant listed twice across pages"


def test_searching_by_name_sends_q_and_copes_with_a_gateway_without_it(desktop, shops):
    """The page sends `q`; a gateway that filters by name lists only matching merchants, and
    one that refuses the unknown parameter (400 naming `q`) gets the unfiltered list with a
    notice, rather than an error."""
    page, _ = _open(desktop)
    wanted = f"红码学校{shops['tag']}"
    page.fill("#q", wanted)
    with page.expect_request(lambda r: "/api/v1/merchants?" in r.url and "q=" in r.url):
        page.click("#search button[type=submit]")
    page.wait_for_url("**/?q=*")
    page.wait_for_selector("#merchants[data-state=loaded]", state="attached")
    expect(page.locator("#status")).to_contain_text("已显示")
    names = page.locator(".merchant-name").all_inner_texts()
    if "暂不支持按名称搜索" in page.locator("#status").inner_text():
        expected_console_errors(desktop, "400 (BAD REQUEST)")
        _show_all(page, [shops["red"], shops["gym"]])  # unfiltered: every merchant is there
    else:
        assert names == [wanted]
