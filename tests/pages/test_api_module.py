"""static/js/api.js in the browser: one Idempotency-Key per user action (the same on its
retries), the bearer token from sessionStorage, the contract's error body as an ApiError with
a Chinese message, and a 401 sending the user to /login?next=<the page>."""

from __future__ import annotations

import json

from tests.support.browser import expected_console_errors, login_as

PROBE = "**/api/v1/pages-probe"


def _page_recording(context, status: int, body: dict):
    """A page of ours whose /api/v1/pages-probe answers `status` and `body`, recording the
    headers of every request to it."""
    seen: list[dict] = []
    page = context.new_page()

    def answer(route, request):
        seen.append(request.headers)
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

    page.route(PROBE, answer)
    page.goto("/login")
    page.wait_for_selector("body[data-ready=true]")
    return page, seen


def test_a_retried_action_keeps_its_idempotency_key_and_sends_the_token(desktop):
    login_as(desktop, "consumer", "c-api")
    page, seen = _page_recording(desktop, 200, {"ok": True})
    page.evaluate(
        """async () => {
          const { api, userAction } = await import('/static/js/api.js');
          const action = userAction();
          await api.post('/pages-probe', { n: 1 }, action);
          await api.post('/pages-probe', { n: 1 }, action);   // a retry of the same action
          await api.post('/pages-probe', { n: 1 }, userAction());  // another action
        }"""
    )
    keys = [headers["idempotency-key"] for headers in seen]
    assert keys[0] == keys[1] != keys[2]
    assert all(h["authorization"].startswith("Bearer ey") for h in seen)


def test_an_error_body_becomes_an_api_error_in_chinese(desktop):
    page, _ = _page_recording(
        desktop, 409, {"error": {"code": "uscc_taken", "message": "taken", "details": {"a": 1}}}
    )
    error = page.evaluate(
        """async () => {
          const { api } = await import('/static/js/api.js');
          try { await api.get('/pages-probe'); } catch (e) {
            const { name, status, code, message, details } = e;
            return { name, status, code, message, details };
          }
        }"""
    )
    expected_console_errors(desktop, "409")
    assert error == {
        "name": "ApiError",
        "status": 409,
        "code": "uscc_taken",
        "message": "该统一社会信用代码已有商户在用。",
        "details": {"a": 1},
    }


def test_a_401_sends_the_user_to_log_in_and_back(desktop, platform):
    session = login_as(desktop, "consumer", "c-expired")
    revoked = platform.post(
        "/api/v1/auth/logout", headers={"Authorization": f"Bearer {session['token']}"}
    )
    assert revoked.status_code == 200
    page = desktop.new_page()
    page.goto("/?industry=retail")
    page.wait_for_selector("#merchants[data-state=loaded]", state="attached")
    # A consumer's own list, as the consumer pages will ask for it, with the revoked token.
    page.evaluate(
        """async () => {
          const { api } = await import('/static/js/api.js');
          api.get('/consumers/me/cards').catch(() => {});
        }"""
    )
    page.wait_for_url(f"{platform.base_url}/login?next=%2F%3Findustry%3Dretail")
    expected_console_errors(desktop, "401")
    assert page.evaluate("sessionStorage.getItem('prepaid-trust.session')") is None
