"""A gateway for tests: its settings with every file in the test's directory, and tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def gateway_settings(tmp_path: Path, amqp_uri: str, **overrides: Any):
    """Gateway settings whose files (signing key, idempotency store, revoked tokens) live in
    the test's dir; a demo gateway unless `mode` says otherwise (the code's default is
    production)."""
    from services.gateway.settings import GatewaySettings

    overrides.setdefault("mode", "demo")
    return GatewaySettings(
        amqp_uri=amqp_uri,
        jwt_key_file=str(tmp_path / "jwt.pem"),
        idempotency_db=str(tmp_path / "idempotency.db"),
        revocation_db=str(tmp_path / "revoked.db"),
        **{"evidence_dir": str(tmp_path / "evidence"), **overrides},
    )


def auth(client, role: str, subject: str) -> dict[str, str]:
    """Authorization headers of a demo dev-login for `role` and `subject`."""
    token = client.post("/api/v1/auth/dev-login", json={"role": role, "subject": subject})
    return {"Authorization": f"Bearer {token.get_json()['token']}"}


def is_page_route(rule) -> bool:
    """A route of the HTML pages or their static files (services/gateway/pages), which the
    API's route tables (access matrix, OpenAPI) leave out on purpose."""
    from services.gateway.pages import page_blueprint_names

    return rule.endpoint.partition(".")[0] in page_blueprint_names()


def served_page(client, path: str) -> str:
    """GET `path` as one of our HTML pages: 200, the pages' security headers, a document in
    Chinese; returns its HTML for the caller's own checks."""
    from services.gateway.pages import CONTENT_SECURITY_POLICY

    answer = client.get(path)
    assert answer.status_code == 200, path
    assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    html = answer.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    return html
