"""Production logins: staff password + TOTP, device signatures, the mini-program code exchange.

No service is called: a login only checks credentials and signs a token.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.gateway import credentials as creds
from services.gateway import signing_key
from services.gateway.app import create_app
from tests.support.gateway import gateway_settings
from tests.support.logins import DEVICE_KEY, PEPPER, TOTP_SECRET, make_client


class FakeJsCode2Session(BaseHTTPRequestHandler):
    """Answers as WeChat's jscode2session does: an openid for a good code, an errcode else."""

    def do_GET(self):  # noqa: N802 (the http.server API)
        args = parse_qs(urlparse(self.path).query)
        good = args.get("js_code") == ["good-code"] and args.get("secret") == ["s3cret"]
        body = (
            {"openid": "oAbC-123", "session_key": "k"}
            if good
            else {"errcode": 40029, "errmsg": "invalid code"}
        )
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def wechat():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeJsCode2Session)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sns/jscode2session"
    server.shutdown()


@pytest.fixture
def client(tmp_path, wechat):
    signing_key.create(tmp_path / "jwt.pem", "production")
    return make_client(tmp_path, wechat)


def test_rfc6238_reference_vector():
    # RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); its last 6 are the 6-digit code.
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert creds.totp(secret, 59 // 30) == "287082"
    assert creds.totp(secret, 1111111109 // 30) == "081804"


def test_staff_login_needs_password_and_a_fresh_totp(client):
    url = "/api/v1/auth/staff/login"
    code = creds.totp(TOTP_SECRET, int(time.time()) // 30)
    good = {"username": "reg-zhang", "password": "correct horse", "totp": code}
    assert client.post(url, json=good | {"password": "wrong"}).status_code == 401
    assert client.post(url, json=good | {"username": "nobody"}).status_code == 401
    assert client.post(url, json=good | {"totp": "12345"}).status_code == 400
    answer = client.post(url, json=good)
    assert answer.status_code == 200, answer.get_json()
    assert (answer.get_json()["role"], answer.get_json()["subject"]) == (
        "regulator",
        "reg-weihai-1",
    )
    token = {"Authorization": f"Bearer {answer.get_json()['token']}"}
    assert client.get("/api/v1/merchants/m-1/stats", headers=token).status_code != 401
    replay = client.post(url, json=good)
    assert replay.status_code == 401, "a TOTP code logs in once"
    assert (
        client.post("/api/v1/auth/dev-login", json={"role": "operator", "subject": "x"}).status_code
        == 404
    )


def test_repeated_failures_lock_the_username(client):
    url = "/api/v1/auth/staff/login"
    bad = {"username": "reg-zhang", "password": "guess", "totp": "000000"}
    codes = [client.post(url, json=bad).status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    good = bad | {
        "password": "correct horse",
        "totp": creds.totp(TOTP_SECRET, int(time.time()) // 30),
    }
    assert client.post(url, json=good).status_code == 429, "locked even with the right password"


def signed(body: dict, key=DEVICE_KEY) -> tuple[bytes, dict]:
    raw = json.dumps(body).encode()
    return raw, {
        "X-Signature": base64.b64encode(key.sign(raw)).decode(),
        "Content-Type": "application/json",
    }


def test_device_token_by_ed25519_signature(client):
    url = "/api/v1/auth/device/token"
    body = {"key_id": "pos-0001", "timestamp": int(time.time()), "nonce": "n" * 16 + "1"}
    raw, headers = signed(body)
    answer = client.post(url, data=raw, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["subject"] == "m-42" and answer.get_json()["role"] == "merchant"
    assert (
        client.post(url, data=raw, headers=headers).get_json()["error"]["code"]
        == "replayed_signature"
    )
    tampered = raw.replace(b"pos-0001", b"pos-0002")
    assert client.post(url, data=tampered, headers=headers).status_code == 401
    raw, headers = signed(body | {"nonce": "n" * 16 + "2"}, key=Ed25519PrivateKey.generate())
    assert client.post(url, data=raw, headers=headers).status_code == 401
    raw, headers = signed(body | {"nonce": "n" * 16 + "3", "timestamp": int(time.time()) - 900})
    assert (
        client.post(url, data=raw, headers=headers).get_json()["error"]["code"] == "stale_signature"
    )


def test_consumer_login_exchanges_the_code_for_a_pseudonym(client):
    url = "/api/v1/auth/consumer/login"
    answer = client.post(url, json={"code": "good-code"})
    assert answer.status_code == 200, answer.get_json()
    subject = answer.get_json()["subject"]
    assert subject == creds.consumer_subject(base64.b64decode(PEPPER), "oAbC-123")
    assert "oAbC" not in answer.get_data(as_text=True), "the openid never leaves the gateway"
    assert client.post(url, json={"code": "good-code"}).get_json()["subject"] == subject
    assert client.post(url, json={"code": "bad"}).get_json()["error"]["code"] == "invalid_code"


def test_a_provider_outage_is_503_and_unprovisioned_logins_are_404(tmp_path):
    signing_key.create(tmp_path / "jwt.pem", "production")
    down = make_client(tmp_path, "http://127.0.0.1:9/sns/jscode2session")
    answer = down.post("/api/v1/auth/consumer/login", json={"code": "good-code"})
    assert answer.status_code == 503 and "Traceback" not in answer.get_data(as_text=True)
    bare = create_app(gateway_settings(tmp_path / "bare", "amqp://unused")).test_client()
    for path in ("staff/login", "device/token", "consumer/login"):
        assert bare.post(f"/api/v1/auth/{path}", json={}).status_code == 404
