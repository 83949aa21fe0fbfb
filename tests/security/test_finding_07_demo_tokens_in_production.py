"""Finding 7: a production gateway accepted a token minted by dev-login in demo mode.

Demo mode created the signing key and production used whatever key file it was given, so a
key made by a demo gateway (or copied from one) signed tokens that production accepted: any
role, for anyone, from the demo's dev-login. Tokens named neither their mode nor their key,
and could not be revoked.

Now a key file records the mode it was made for and production refuses a demo key; tokens
carry the mode as their audience (`aud`), the key id (`kid`) and their own id (`jti`);
logout revokes a token, and the revocation survives a restart; staff tokens live 15 minutes.
"""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.gateway import credentials as creds
from services.gateway import signing_key
from services.gateway.app import create_app
from tests.support.gateway import gateway_settings

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
# Needs an operator's token, and answers 404 before calling any service outside a demo
# platform with a clock: a cheap way to ask "is this token accepted?".
AUTH_ONLY = "/api/v1/demo/clock"


def dev_login(client, role="operator", subject="op-1") -> str:
    answer = client.post("/api/v1/auth/dev-login", json={"role": role, "subject": subject})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def accepted(client, token: str) -> bool:
    status = client.post(AUTH_ONLY, json={"days": 0}, headers=bearer(token)).status_code
    assert status in (401, 404), status
    return status == 404


def test_production_refuses_the_key_file_a_demo_gateway_made(tmp_path):
    demo = create_app(gateway_settings(tmp_path, "amqp://unused", mode="demo"))
    assert accepted(demo.test_client(), dev_login(demo.test_client()))
    with pytest.raises(signing_key.KeyModeError):
        create_app(gateway_settings(tmp_path, "amqp://unused", mode="production"))
    # A key from before keys recorded their mode was made by demo mode too.
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "jwt.pem").write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(signing_key.KeyModeError):
        create_app(gateway_settings(legacy, "amqp://unused", mode="production"))


def test_a_demo_token_is_refused_in_production_even_under_the_same_key(tmp_path):
    demo = create_app(gateway_settings(tmp_path, "amqp://unused", mode="demo"))
    token = dev_login(demo.test_client())
    # An operator relabels the demo key for production: the key is the same, the token's
    # audience is not.
    pem = (tmp_path / "jwt.pem").read_bytes()
    pem = pem[pem.index(b"-----BEGIN") :]
    prod_dir = tmp_path / "prod"
    prod_dir.mkdir()
    (prod_dir / "jwt.pem").write_bytes(f"{signing_key.MODE_LINE}production\n".encode() + pem)
    production = create_app(gateway_settings(prod_dir, "amqp://unused", mode="production"))
    answer = production.test_client().post(AUTH_ONLY, json={"days": 0}, headers=bearer(token))
    assert answer.status_code == 401, answer.get_json()
    assert (
        demo.test_client()
        .post("/api/v1/auth/dev-login", json={"role": "operator", "subject": "x"})
        .status_code
        == 200
    ), "demo tokens still work"
    assert (
        production.test_client()
        .post("/api/v1/auth/dev-login", json={"role": "operator", "subject": "x"})
        .status_code
        == 404
    )


def test_tokens_name_their_mode_key_and_id(tmp_path):
    demo = create_app(gateway_settings(tmp_path, "amqp://unused", mode="demo"))
    token = dev_login(demo.test_client())
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["kid"] == demo.config["TOKENS"].kid
    assert claims["aud"] == "prepaid-trust/demo" and len(claims["jti"]) >= 16
    other = dev_login(demo.test_client())
    assert jwt.decode(other, options={"verify_signature": False})["jti"] != claims["jti"]


def test_logout_revokes_the_token_and_a_restart_remembers_it(tmp_path):
    app = create_app(gateway_settings(tmp_path, "amqp://unused", mode="demo"))
    client = app.test_client()
    token, kept = dev_login(client), dev_login(client)
    assert accepted(client, token)
    answer = client.post("/api/v1/auth/logout", headers=bearer(token))
    assert answer.status_code == 200 and answer.get_json()["revoked"] is True
    assert not accepted(client, token)
    assert accepted(client, kept), "only the presented token is revoked"
    again = client.post("/api/v1/auth/logout", headers=bearer(token))
    assert again.status_code == 200 and again.get_json() == answer.get_json(), "idempotent"
    assert client.post("/api/v1/auth/logout").status_code == 401
    app.config["RPC_POOL"].close()
    restarted = create_app(gateway_settings(tmp_path, "amqp://unused", mode="demo")).test_client()
    assert not accepted(restarted, token)
    assert accepted(restarted, kept)


def test_staff_tokens_are_short_lived(tmp_path):
    registry = tmp_path / "credentials.toml"
    registry.write_text(f'''
[[staff]]
username = "op-li"
role = "operator"
subject = "op-weihai-1"
password = "{creds.hash_password("pw")}"
totp_secret = "{TOTP_SECRET}"
''')
    signing_key.create(tmp_path / "jwt.pem", "production")
    app = create_app(
        gateway_settings(
            tmp_path, "amqp://unused", mode="production", credentials_file=str(registry)
        )
    )
    answer = app.test_client().post(
        "/api/v1/auth/staff/login",
        json={
            "username": "op-li",
            "password": "pw",
            "totp": creds.totp(TOTP_SECRET, int(time.time()) // creds.TOTP_STEP),
        },
    )
    assert answer.status_code == 200, answer.get_json()
    claims = jwt.decode(answer.get_json()["token"], options={"verify_signature": False})
    ttl = app.config["SETTINGS"].staff_token_ttl
    assert claims["exp"] - claims["iat"] == ttl <= 15 * 60
    assert claims["aud"] == "prepaid-trust/production"
