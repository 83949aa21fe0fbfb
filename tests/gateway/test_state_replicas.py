"""Two gateway replicas on one migrated PostgreSQL schema (GATEWAY_STATE_URL), as a role that
cannot CREATE: whatever one replica records, the other honours."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace

import pytest

from services.gateway import credentials as creds
from services.gateway.app import create_app
from tests.support.gateway import gateway_settings
from tests.support.gateway_state import migrated_gateway_url
from tests.support.logins import DEVICE_KEY, DEVICE_PUBLIC, TOTP_SECRET

pytestmark = pytest.mark.postgres

LOGIN = "/api/v1/auth/staff/login"


@pytest.fixture
def replicas(tmp_path, pg_dsn):
    url = migrated_gateway_url(pg_dsn)
    registry = tmp_path / "credentials.toml"
    registry.write_text(f'''
[[staff]]
username = "reg-zhang"
role = "regulator"
subject = "reg-weihai-1"
password = "{creds.hash_password("correct horse")}"
totp_secret = "{TOTP_SECRET}"
[[devices]]
key_id = "pos-0001"
role = "merchant"
subject = "m-42"
public_key = "{DEVICE_PUBLIC}"
''')
    apps = [
        create_app(
            replace(
                gateway_settings(
                    tmp_path / name,
                    "amqp://unused",
                    credentials_file=str(registry),
                    state_url=url,
                ),
                jwt_key_file=str(tmp_path / "jwt.pem"),  # one signing key, as replicas share
            )
        )
        for name in ("a", "b")
    ]
    yield [app.test_client() for app in apps]
    for app in apps:
        app.config["STATE"].close()
    for name in ("a", "b"):  # nothing of the state went to local files
        assert not (tmp_path / name / "idempotency.db").exists()
        assert not (tmp_path / name / "logins.db").exists()


def bearer(client, role="consumer", subject="c-1") -> dict[str, str]:
    answer = client.post("/api/v1/auth/dev-login", json={"role": role, "subject": subject})
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def test_an_idempotency_key_used_on_a_replays_on_b(replicas):
    a, b = replicas
    consumer = bearer(a)
    headers = {**consumer, "Idempotency-Key": "buy-1"}
    # No service runs: the body is invalid, and the 400 is what is stored and replayed.
    first = a.post("/api/v1/cards", json={}, headers=headers)
    assert first.status_code == 400 and "Idempotent-Replayed" not in first.headers
    again = b.post("/api/v1/cards", json={}, headers=headers)
    assert again.status_code == 400 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    other = b.post("/api/v1/cards", json={"product_id": "p"}, headers=headers)
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"


def test_a_token_revoked_on_a_is_refused_on_b(replicas):
    a, b = replicas
    operator = bearer(a, "operator", "o-1")
    assert b.get("/api/v1/alerts", headers=operator).status_code != 401
    assert a.post("/api/v1/auth/logout", headers=operator).status_code in (200, 204)
    assert a.get("/api/v1/alerts", headers=operator).status_code == 401, "at once on a"
    # On b within the cross-replica bound, GATEWAY_REVOCATION_REFRESH_SECONDS (1 s).
    bound = b.application.config["SETTINGS"].revocation_refresh
    deadline = time.monotonic() + bound + 0.5
    while (refused := b.get("/api/v1/alerts", headers=operator)).status_code != 401:
        assert time.monotonic() < deadline, f"still served on b after {bound} s"
        time.sleep(0.05)
    assert "revoked" in refused.get_json()["error"]["message"]


def test_a_login_locked_out_on_a_is_locked_on_b(replicas):
    a, b = replicas
    wrong = {"username": "reg-zhang", "password": "guess", "totp": "000000"}
    codes = [(a if n % 2 else b).post(LOGIN, json=wrong).status_code for n in range(5)]
    assert codes == [401] * 5
    locked = b.post(LOGIN, json=wrong)
    assert locked.status_code == 429
    assert locked.get_json()["error"]["details"]["reason"] == "source_and_username_locked"
    assert a.post(LOGIN, json=wrong).status_code == 429


def test_a_totp_code_and_a_device_nonce_used_on_a_are_refused_on_b(replicas):
    a, b = replicas
    right = {
        "username": "reg-zhang",
        "password": "correct horse",
        "totp": creds.totp(TOTP_SECRET, int(time.time()) // 30),
    }
    assert a.post(LOGIN, json=right).status_code == 200
    assert b.post(LOGIN, json=right).status_code == 401, "a TOTP code works once"

    raw = json.dumps(
        {"key_id": "pos-0001", "timestamp": int(time.time()), "nonce": "n" * 16}
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Signature": base64.b64encode(DEVICE_KEY.sign(raw)).decode(),
    }
    assert a.post("/api/v1/auth/device/token", data=raw, headers=headers).status_code == 200
    replayed = b.post("/api/v1/auth/device/token", data=raw, headers=headers)
    assert replayed.status_code == 401
    assert replayed.get_json()["error"]["code"] == "replayed_signature"
