"""The consumer's card page, receipts and complaints at 375x667 on the real platform: the card
code as digits and QR; the refund quote shown first and equal to the refund (on request, and
cooling-off on an unused card); a receipt verified in the browser ("已验证"), and tampered
entry or proof bytes naming the failing step; a complaint filed about a card, answered by the
merchant through the API, and escalated."""

from __future__ import annotations

import base64

import pytest
from playwright.sync_api import expect

from ledger.bootstrap import DEFAULT_ORIGIN
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
from tests.support.gateway import auth
from tests.support.harness import wait_until


@pytest.fixture(scope="module")
def shop(platform):
    return open_shop(platform)


def _spent_card(platform, shop, consumer: str) -> str:
    """A stored-value card with one confirmed spend of ¥15.00."""
    card_id = buy(platform, consumer, shop.products["stored_value"])
    redemption = request_spend(platform, shop, card_id, {"amount": 1500})
    confirmed = platform.post(
        f"/api/v1/redemptions/{redemption}/confirm", headers=auth(platform, "consumer", consumer)
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    return card_id


def _fen(text: str) -> int:
    """ "¥1,234.56" -> 123456, read without a float."""
    yuan, _, fen = text.strip().lstrip("¥").replace(",", "").partition(".")
    return int(yuan) * 100 + int(fen)


def test_the_refund_quote_is_shown_first_and_equals_the_refund(phone, platform, shop):
    consumer = new_consumer()
    card_id = _spent_card(platform, shop, consumer)
    login_as(phone, "consumer", consumer)
    page = open_page(phone, f"/app/cards/{card_id}", "#card")
    code = card_of(platform, consumer, card_id)["card_code"]
    expect(page.locator("#code-digits")).to_have_text(f"{code[:4]} {code[4:8]} {code[8:]}")
    assert page.locator("#code-qr").get_attribute("src").startswith("data:image/gif;base64,")
    expect(page.locator("#history li.history-item")).to_have_count(2)
    assert fits_the_phone(page)
    screenshot(page, "app-card")
    assert_accessible(page)

    page.click("#refund-open")
    quote = page.locator(".refund-quote[data-rule=on_request]")
    expect(quote).to_be_visible()
    expect(page.locator(".refund-quote[data-rule=cooling_off]")).to_have_count(0)
    expect(quote.locator(".facts")).to_contain_text("已消费金额¥15.00")
    expect(quote.locator(".facts")).to_contain_text("按未消费部分占比退还实付金额")
    quoted = _fen(quote.locator(".quote-amount").inner_text().removeprefix("可退金额 "))
    assert card_of(platform, consumer, card_id)["status"] == "active", "a quote has no effect"
    screenshot(page, "app-card-refund-quote")
    assert_accessible(page)

    quote.get_by_role("button", name="确认退款").click()
    expect(page.locator(".refund-done")).to_contain_text("已退款")
    card = card_of(platform, consumer, card_id)
    assert card["status"] == "refunded"
    assert card["refunded_amount"] == quoted
    assert card["released_amount"] + card["refunded_amount"] == card["deposited"]
    expect(page.locator("#card")).to_have_attribute("data-status", "refunded")
    expect(page.locator("#history li[data-type=refund]")).to_have_count(1)


def test_cooling_off_is_offered_on_an_unused_card_and_refunds_the_price(phone, platform, shop):
    consumer = new_consumer()
    card_id = buy(platform, consumer, shop.products["count"])
    login_as(phone, "consumer", consumer)
    page = open_page(phone, f"/app/cards/{card_id}", "#card")
    page.click("#refund-open")
    cooling = page.locator(".refund-quote[data-rule=cooling_off]")
    expect(cooling.locator(".quote-amount")).to_have_text("可退金额 ¥500.00")
    expect(cooling.locator(".facts")).to_contain_text("冷静期")
    expect(page.locator(".refund-quote[data-rule=on_request]")).to_have_count(1)
    cooling.get_by_role("button", name="确认退款").click()
    expect(page.locator(".refund-done")).to_contain_text("冷静期无理由退款")
    assert card_of(platform, consumer, card_id)["refunded_amount"] == 50000


def _receipt_ready(platform, consumer: str, card_id: str) -> str:
    headers = auth(platform, "consumer", consumer)
    history = platform.get(f"/api/v1/cards/{card_id}/history", headers=headers).get_json()
    event_id = next(i["event_id"] for i in history["items"] if i["type"] == "redemption_confirmed")
    wait_until(
        lambda: (
            platform.get(f"/api/v1/ledger/receipts/{event_id}", headers=headers).status_code == 200
        ),
        timeout=60,
        what="the spend's receipt",
    )
    return event_id


def test_a_receipt_is_verified_in_the_browser(phone, platform, shop):
    consumer = new_consumer()
    card_id = _spent_card(platform, shop, consumer)
    event_id = _receipt_ready(platform, consumer, card_id)
    login_as(phone, "consumer", consumer)
    page = open_page(phone, f"/app/cards/{card_id}", "#card")
    page.locator("#history li[data-type=redemption_confirmed]").get_by_role("link").click()
    page.wait_for_url(f"**/app/receipts/{event_id}")
    expect(page.locator("#verdict")).to_have_text("已验证")
    expect(page.locator("#steps li[data-ok=true]")).to_have_count(5)
    expect(page.locator("#entry")).to_contain_text("消费确认，划付商户")
    expect(page.locator("#entry")).to_contain_text(card_id)
    assert fits_the_phone(page)
    screenshot(page, "app-receipt")
    assert_accessible(page)


def _tampered(page, change):
    def handler(route):
        receipt = route.fetch().json()
        route.fulfill(json=change(receipt))

    page.route("**/api/v1/ledger/receipts/*", handler)


def _flip_entry_byte(receipt: dict) -> dict:
    entry = bytearray(base64.b64decode(receipt["entry"]))
    entry[len(entry) // 2] ^= 0x01
    return {**receipt, "entry": base64.b64encode(bytes(entry)).decode()}


def _flip_proof_byte(receipt: dict) -> dict:
    proof = list(receipt["inclusion_proof"])
    first = bytearray(bytes.fromhex(proof[0]))
    first[0] ^= 0x01
    proof[0] = first.hex()
    return {**receipt, "inclusion_proof": proof}


def _flip_signature_byte(signer_prefix: str):
    """A change to the last byte of the first signature line whose signer starts with
    `signer_prefix`, in the note text."""

    def change(receipt: dict) -> dict:
        lines = receipt["checkpoint"]["note"].split("\n")
        at = next(i for i, line in enumerate(lines) if line.startswith(f"\u2014 {signer_prefix}"))
        name, encoded = lines[at].rsplit(" ", 1)
        raw = bytearray(base64.b64decode(encoded))
        raw[-1] ^= 0x01
        lines[at] = f"{name} {base64.b64encode(bytes(raw)).decode()}"
        return {**receipt, "checkpoint": {**receipt["checkpoint"], "note": "\n".join(lines)}}

    return change


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        # A changed entry has another leaf hash, from which the proof cannot reach the root.
        (_flip_entry_byte, ["leaf", "inclusion"]),
        (_flip_proof_byte, ["inclusion"]),
        (_flip_signature_byte(DEFAULT_ORIGIN), ["log_signature"]),
        (_flip_signature_byte("bank."), ["witnesses"]),
    ],
    ids=["entry", "proof", "log-signature", "witness-cosignature"],
)
def test_a_tampered_receipt_shows_the_failing_step(phone, platform, shop, change, failing):
    consumer = new_consumer()
    card_id = _spent_card(platform, shop, consumer)
    event_id = _receipt_ready(platform, consumer, card_id)
    login_as(phone, "consumer", consumer)
    page = phone.new_page()
    _tampered(page, change)
    page.goto(f"/app/receipts/{event_id}")
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-state", "failed")
    expect(verdict).not_to_contain_text("已验证")
    assert (
        page.locator("#steps li[data-ok=false]").evaluate_all(
            "(items) => items.map((i) => i.dataset.step)"
        )
        == failing
    )
    step = page.locator(f"#steps li[data-step={failing[0]}]")
    expect(step).to_contain_text("未通过")
    expect(verdict).to_contain_text(step.locator(".step-title").inner_text().split("：")[0])
    screenshot(page, f"app-receipt-tampered-{failing[0]}")
    assert_accessible(page)


def test_a_complaint_is_filed_answered_and_escalated(phone, platform, shop):
    consumer = new_consumer()
    card_id = buy(platform, consumer, shop.products["count"])
    login_as(phone, "consumer", consumer)
    page = open_page(phone, f"/app/cards/{card_id}", "#card")
    page.click("#complain-card")
    page.wait_for_selector("#complaints[data-state=loaded]", state="attached")
    assert "卡：" in page.locator("#about option:checked").inner_text()
    page.select_option("#category", label="未提供服务")
    page.fill("#complaint-text", "约好的课程一直没有安排")
    page.click("#complaint-form button[type=submit]")
    item = page.locator("li.complaint-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("未提供服务")
    expect(item).to_contain_text("商户尚未回复")
    assert fits_the_phone(page)
    screenshot(page, "app-complaints")
    assert_accessible(page)

    complaint_id = item.get_attribute("data-complaint-id")
    mine = platform.get(
        "/api/v1/consumers/me/complaints", headers=auth(platform, "consumer", consumer)
    ).get_json()["items"]
    assert [(c["complaint_id"], c["card_id"]) for c in mine] == [(complaint_id, card_id)]
    answered = platform.post(
        f"/api/v1/complaints/{complaint_id}/response",
        json={"response": "下周一起安排补课"},
        headers=shop.merchant_auth,
    )
    assert answered.status_code == 200, answered.get_json()
    page.reload()
    page.wait_for_selector("#complaints[data-state=loaded]", state="attached")
    expect(item.locator(".complaint-response")).to_have_text("商户回复：下周一起安排补课")
    item.get_by_role("button", name="提交监管部门处理").click()
    expect(item).to_have_attribute("data-status", "escalated")
    expect(item.locator(".complaint-status")).to_contain_text("已提交监管部门")
    expect(item.get_by_role("button", name="问题已解决")).to_be_visible()
    screenshot(page, "app-complaints-escalated")
