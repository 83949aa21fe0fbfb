"""The OpenAPI document describes every route the gateway serves, with the same methods."""

from __future__ import annotations

import re

from services.gateway.app import create_app
from tests.support.gateway import gateway_settings, is_page_route

UNDOCUMENTED = {"/api/v1/openapi.json", "/auth/dev-login", "/healthz"}


def test_every_route_and_method_is_in_the_document(tmp_path):
    app = create_app(gateway_settings(tmp_path, "amqp://unused"))
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    served = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule in UNDOCUMENTED or is_page_route(rule):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        served.setdefault(path, set()).update(
            m.lower() for m in rule.methods if m not in ("HEAD", "OPTIONS")
        )
    documented = {
        path: set(item) for path, item in document["paths"].items() if path not in UNDOCUMENTED
    }
    assert documented == served
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation.get("responses"), f"{method} {path} documents no responses"


def test_security_roles_and_path_parameters_come_from_the_routes(tmp_path):
    app = create_app(gateway_settings(tmp_path, "amqp://unused"))
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    alerts = paths["/api/v1/alerts"]["get"]
    assert alerts["security"] == [{"bearer": []}] and alerts["x-roles"] == ["regulator"]
    assert {"401", "403"} <= set(alerts["responses"])
    health = paths["/api/v1/merchants/{merchant_id}/health"]["get"]
    assert "security" not in health and "401" not in health["responses"], "public"
    receipt = paths["/api/v1/ledger/receipts/{event_id}"]["get"]
    assert receipt["security"] and "x-roles" not in receipt, "any caller, checked inside"
    for path, item in paths.items():
        for method, operation in item.items():
            named = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            assert named == re.findall(r"{(\w+)}", path), f"{method} {path}"


def test_each_view_documents_itself_with_its_decorator(tmp_path):
    app = create_app(gateway_settings(tmp_path, "amqp://unused"))
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    assert "/api/v1/auth/dev-login" in paths and "/auth/dev-login" not in paths, (
        "the alias of a documented view is left out"
    )
    assert paths["/healthz"]["get"]["responses"] == {
        "200": {"description": "ok or degraded"},
        "503": {"description": "unavailable"},
    }, "healthz answers its own body, even when down"
    default = paths["/api/v1/merchants/{merchant_id}/default"]["post"]["responses"]
    assert default["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DefaultProposal"
    }
    products = paths["/api/v1/merchants/{merchant_id}/products"]["post"]["requestBody"]
    assert [
        ref["$ref"].rsplit("/", 1)[1]
        for ref in products["content"]["application/json"]["schema"]["oneOf"]
    ] == ["StoredValueProduct", "CountProduct", "PeriodProduct"]
