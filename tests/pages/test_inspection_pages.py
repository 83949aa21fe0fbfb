"""The inspection pages in chromium against the real platform (issue 14), at phone size
(390x844): the inspector checks in by pasting the code the merchant's console shows (read from
the merchant's page in a second browser context), after a bad code, a refused camera, the
inspector_blocked refusal and the over-quota warning are shown as the page shows them, and
records a minor finding; the merchant uploads a file (its SHA-256 computed in the page) and
submits the rectification; a regulator accepts through HTTP; the public merchant page shows
the published result and the merchant's tier. Each page is screenshot."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import uuid

import pytest
from playwright.sync_api import expect

from tests.support import browser as support
from tests.support.browser import (
    assert_accessible,
    expected_console_errors,
    login_as,
    screenshot,
)
from tests.support.inspection_pages import DEPARTMENT, drawn_visit

PHONE = {"width": 390, "height": 844}
EVIDENCE = "价目表已上墙，课程价格公示完毕。".encode() * 50


@pytest.fixture(scope="module")
def visit(platform):
    return drawn_visit(platform, f"检查健身{uuid.uuid4().hex[:6]}")


@pytest.fixture
def inspector(browser, platform):
    yield from support.watched_context(browser, platform.base_url, PHONE)


@pytest.fixture
def merchant(browser, platform):
    yield from support.watched_context(browser, platform.base_url, PHONE)


@pytest.fixture
def visitor(browser, platform):
    yield from support.watched_context(browser, platform.base_url, PHONE)


def _open(context, path, ready):
    page = context.new_page()
    page.goto(path)
    page.wait_for_selector(f"{ready}[data-state=loaded]", state="attached")
    return page


def test_check_in_minor_finding_rectification_and_publication(
    inspector, merchant, visitor, platform, visit
):
    login_as(inspector, "inspector", visit.inspector, DEPARTMENT)
    login_as(merchant, "merchant", visit.merchant_id)

    # The merchant's console shows its code as a QR and as text.
    console = _open(merchant, "/merchant/inspections", "#code-card")
    expect(console.locator("#code-qr")).to_be_visible()
    code = console.locator("#code-text").inner_text().strip()
    assert code.count(".") == 1 and len(code) > 100, code
    expect(console.locator("#code-expires")).to_contain_text("有效期至")
    expect(console.locator("#rect-empty")).to_be_visible()
    screenshot(console, "inspection-merchant-code-390")
    assert_accessible(console)

    # The inspector's task list, then the task.
    tasks = _open(inspector, "/inspector/", "#tasks")
    item = tasks.locator(f'[data-inspection-id="{visit.inspection_id}"]')
    expect(item).to_contain_text(visit.name)
    expect(item).to_contain_text("现场检查")
    expect(item).to_contain_text("体育局")
    expect(item).to_contain_text("待检查")
    screenshot(tasks, "inspection-inspector-tasks-390")
    assert_accessible(tasks)
    item.locator("a").click()
    task = tasks
    task.wait_for_selector("#task[data-state=loaded]", state="attached")
    expect(task.locator("#task-title")).to_have_text(visit.name)
    expect(task.locator("#check-in")).to_be_visible()
    expect(task.locator("#result")).to_be_hidden()

    # No camera here: the page says so and points at the text box.
    task.click("#scan-start")
    expect(task.locator("#scan-state")).to_contain_text("请粘贴检查码", timeout=10_000)
    expect(task.locator("#scan-start")).to_be_visible()

    # A bad code is refused in Chinese beside the box.
    task.fill("#merchant-code", "not-a-merchant-code")
    task.click("#check-in-submit")
    expect(task.locator("#check-in-error")).to_contain_text("商户检查码无效")

    # The inspector_blocked refusal, as the platform answers it, is shown plainly.
    blocked = json.dumps(
        {"error": {"code": "inspector_blocked", "message": "blocked", "details": {}}}
    )
    url = f"**/api/v1/inspections/{visit.inspection_id}/check-in"
    task.route(
        url, lambda route: route.fulfill(status=422, body=blocked, content_type="application/json")
    )
    task.fill("#merchant-code", code)
    task.click("#check-in-submit")
    expect(task.locator("#blocked")).to_be_visible()
    expect(task.locator("#blocked-text")).to_contain_text("本年度已对该商户检查三次")
    expect(task.locator("#check-in")).to_be_hidden()
    screenshot(task, "inspection-inspector-blocked-390")
    assert_accessible(task)
    task.unroute(url)
    expected_console_errors(inspector, "422")  # the bad code's and the blocked answer

    # The real check-in with the pasted code; its answer marked over quota, as a merchant at
    # its yearly quota would be, shows the warning.
    def over_quota(route):
        answer = route.fetch()
        body = {**answer.json(), "over_quota": True, "warning": "over_quota"}
        route.fulfill(response=answer, body=json.dumps(body))

    task.reload()
    task.wait_for_selector("#task[data-state=loaded]", state="attached")
    task.route(url, over_quota)
    task.fill("#merchant-code", code)
    task.click("#check-in-submit")
    expect(task.locator("#checked-in")).to_contain_text("已签到")
    expect(task.locator("#over-quota")).to_be_visible()
    expect(task.locator("#result")).to_be_visible()
    task.unroute(url)
    doc = platform.get(
        f"/api/v1/inspections/{visit.inspection_id}", headers=visit.regulator
    ).get_json()
    assert [c["inspector_id"] for c in doc["check_ins"]] == [visit.inspector]

    # A minor finding with a 15-day deadline.
    expect(task.locator("#days-field")).to_be_hidden()
    task.check("input[name=finding][value=minor]")
    expect(task.locator("#days-field")).to_be_visible()
    task.fill("#rectification-days", "91")
    task.click("#result-submit")
    expect(task.locator("#days-error")).to_contain_text("1 至 90 天")
    task.fill("#rectification-days", "15")
    task.fill("#result-note", "课程价格未公示")
    screenshot(task, "inspection-inspector-result-form-390")
    assert_accessible(task)
    task.click("#result-submit")
    expect(task.locator("#outcome")).to_be_visible()
    expect(task.locator("#outcome-facts")).to_contain_text("一般问题")
    expect(task.locator("#outcome-facts")).to_contain_text("课程价格未公示")
    expect(task.locator("#result")).to_be_hidden()
    screenshot(task, "inspection-inspector-result-390")

    # The merchant's 整改 box: 待整改 with its deadline; the evidence uploaded and submitted.
    console.reload()
    console.wait_for_selector("#rectifications[data-state=loaded]", state="attached")
    entry = console.locator(f'.rectification-item[data-inspection-id="{visit.inspection_id}"]')
    expect(entry).to_have_attribute("data-state", "due")
    expect(entry).to_contain_text("待整改")
    expect(entry).to_contain_text("整改期限")
    entry.locator("input[type=file]").set_input_files(
        {"name": "价目表.jpg", "mimeType": "image/jpeg", "buffer": EVIDENCE}
    )
    entry.locator("textarea").fill("已公示价格")
    entry.locator("button[type=submit]").click()
    expect(entry).to_have_attribute("data-state", "submitted")
    expect(entry).to_contain_text("已提交")
    screenshot(console, "inspection-merchant-rectification-390")
    assert_accessible(console)
    sha = hashlib.sha256(EVIDENCE).hexdigest()
    doc = platform.get(
        f"/api/v1/inspections/{visit.inspection_id}", headers=visit.regulator
    ).get_json()
    assert doc["rectification"]["evidence_sha256"] == sha, "the page hashed the file's bytes"
    assert doc["rectification"]["note"] == "已公示价格"
    stored = platform.get(f"/api/v1/evidence/{sha}", headers=visit.regulator)
    assert stored.status_code == 200 and stored._response.content == EVIDENCE

    # A regulator accepts; the merchant sees 已验收 and anyone sees the published result.
    accepted = platform.post(
        f"/api/v1/inspections/{visit.inspection_id}/accept", headers=visit.regulator
    )
    assert accepted.status_code == 200, accepted.get_json()
    console.reload()
    console.wait_for_selector("#rectifications[data-state=loaded]", state="attached")
    expect(entry).to_have_attribute("data-state", "accepted")

    public = _open(visitor, f"/app/merchants/{visit.merchant_id}", "#merchant")
    result = public.locator(f'.result-item[data-inspection-id="{visit.inspection_id}"]')
    expect(result).to_contain_text("整改完成")
    expect(result).to_contain_text("体育局")
    expect(result).to_contain_text("现场检查")
    expect(public.locator("#inspections-empty")).to_be_hidden()
    expect(public.locator("#inspections-tier")).to_contain_text("监管分级")
    expect(public.locator("#inspections-tier")).to_contain_text("本年度现场检查上限")
    public.locator("#inspections-title").scroll_into_view_if_needed()
    screenshot(public, "inspection-public-merchant-390")
    assert_accessible(public)


def test_an_inspector_page_without_an_inspector_session_goes_to_login(visitor):
    page = visitor.new_page()
    page.goto("/inspector/")
    page.wait_for_url("**/login?next=%2Finspector%2F")


def test_another_inspectors_task_is_not_found(inspector, visit):
    login_as(inspector, "inspector", f"ins-other-{uuid.uuid4().hex[:6]}", DEPARTMENT)
    page = _open(inspector, f"/inspector/inspections/{visit.inspection_id}", "#task")
    expect(page.locator("#status")).to_contain_text("没有找到")
    expect(page.locator("#check-in")).to_be_hidden()
    expected_console_errors(inspector, "404")


@pytest.fixture(scope="module")
def second_visit(platform):
    return drawn_visit(platform, f"扫码健身{uuid.uuid4().hex[:6]}")


FRAME = (640, 480)
QR_AS_LUMA = """(img) => {
  const [width, height] = [640, 480];
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, width, height);
  context.imageSmoothingEnabled = false;
  context.drawImage(img, (width - 400) / 2, (height - 400) / 2, 400, 400);
  const rgba = context.getImageData(0, 0, width, height).data;
  let luma = "";
  for (let i = 0; i < rgba.length; i += 4) {
    const y = 0.299 * rgba[i] + 0.587 * rgba[i + 1] + 0.114 * rgba[i + 2];
    luma += String.fromCharCode(Math.round(y));
  }
  return btoa(luma);
}"""


def _camera_file(path, luma: bytes) -> None:
    """One grey frame as a Y4M file, which chromium's fake camera plays in a loop."""
    width, height = FRAME
    chroma = bytes([128]) * (width * height // 4)
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + b"FRAME\n" + luma + chroma + chroma)


def test_the_camera_reads_the_merchants_qr_and_checks_in(
    browser, merchant, platform, second_visit, tmp_path
):
    login_as(merchant, "merchant", second_visit.merchant_id)
    console = _open(merchant, "/merchant/inspections", "#code-card")
    expect(console.locator("#code-qr")).to_be_visible()
    first = console.locator("#code-text").inner_text()
    console.click("#code-refresh")
    expect(console.locator("#code-text")).not_to_have_text(first)  # a fresh code
    luma = base64.b64decode(console.locator("#code-qr").evaluate(QR_AS_LUMA))
    assert len(luma) == FRAME[0] * FRAME[1]
    video = tmp_path / "qr.y4m"
    _camera_file(video, luma)

    camera = browser.browser_type.launch(
        executable_path=shutil.which("chromium"),
        args=support.CHROMIUM_ARGS
        + [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        for context in support.watched_context(camera, platform.base_url, PHONE):
            context.grant_permissions(["camera"])
            login_as(context, "inspector", second_visit.inspector, DEPARTMENT)
            page = _open(context, f"/inspector/inspections/{second_visit.inspection_id}", "#task")
            page.click("#scan-start")
            expect(page.locator("#checked-in")).to_contain_text("已签到", timeout=20_000)
            expect(page.locator("#result")).to_be_visible()
            expect(page.locator("#scan-video")).to_be_hidden()
            assert (
                page.locator("#merchant-code").input_value()
                == console.locator("#code-text").inner_text().strip()
            ), "the camera read the code the console shows"
    finally:
        camera.close()
    doc = platform.get(
        f"/api/v1/inspections/{second_visit.inspection_id}", headers=second_visit.regulator
    ).get_json()
    assert [c["inspector_id"] for c in doc["check_ins"]] == [second_visit.inspector]
