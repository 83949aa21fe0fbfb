"""A regulator's token carries its department (`dept`): dev-login's and the staff login's, and
an unknown department, or one for another role, is refused with invalid_department."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.gateway import credentials as creds
from services.gateway import signing_key
from services.gateway.auth import ISSUER, TokenIssuer, audience
from services.gateway.errors import ApiError
from tests.support.logins import TOTP_SECRET, make_client


def test_the_department_is_a_claim_of_a_regulators_token():
    key = Ed25519PrivateKey.generate()
    tokens = TokenIssuer(key, mode="demo")
    principal = tokens.verify(tokens.issue("regulator", "r-1", department="education"))
    assert (principal.role, principal.department) == ("regulator", "education")
    assert tokens.verify(tokens.issue("regulator", "r-2")).department == ""
    for role, department in (("regulator", "police"), ("merchant", "commerce")):
        with pytest.raises(ApiError) as refused:
            tokens.issue(role, "x", department=department)
        assert refused.value.code == "invalid_department"
    # A token signed with the gateway's key yet naming no known department is not accepted.
    now = int(time.time())
    forged = jwt.encode(
        {
            "iss": ISSUER,
            "aud": audience("demo"),
            "sub": "r-3",
            "role": "regulator",
            "dept": "police",
            "iat": now,
            "exp": now + 60,
            "jti": "j",
        },
        key,
        algorithm="EdDSA",
        headers={"kid": tokens.kid},
    )
    with pytest.raises(jwt.InvalidTokenError):
        tokens.verify(forged)


def test_a_staff_entry_names_a_known_department(tmp_path):
    registry = tmp_path / "credentials.toml"
    registry.write_text(
        '[[staff]]\nusername = "u"\nrole = "regulator"\nsubject = "r"\npassword = "x"\n'
        'totp_secret = "A"\ndepartment = "police"\n'
    )
    with pytest.raises(ValueError, match="department"):
        creds.Credentials.load(registry)


def test_the_staff_login_gives_the_regulator_its_department(tmp_path):
    signing_key.create(tmp_path / "jwt.pem", "production")
    client = make_client(tmp_path, "http://127.0.0.1:9/unused")
    code = creds.totp(TOTP_SECRET, int(time.time()) // 30)
    answer = client.post(
        "/api/v1/auth/staff/login",
        json={"username": "reg-zhang", "password": "correct horse", "totp": code},
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["department"] == "samr"
    claims = jwt.decode(answer.get_json()["token"], options={"verify_signature": False})
    assert claims["dept"] == "samr"
