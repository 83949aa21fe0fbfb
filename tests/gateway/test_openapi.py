"""The OpenAPI document describes every route the gateway serves, with the same methods."""
from __future__ import annotations

import re

from services.gateway.app import create_app
from tests.conftest import gateway_settings

UNDOCUMENTED = {"/api/v1/openapi.json", "/auth/dev-login", "/healthz"}


def test_every_route_and_method_is_in_the_document(tmp_path):
    app = create_app(gateway_settings(tmp_path, "amqp://unused"))
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    served = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule in UNDOCUMENTED:
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        served.setdefault(path, set()).update(m.lower() for m in rule.methods
                                              if m not in ("HEAD", "OPTIONS"))
    documented = {path: set(item) for path, item in document["paths"].items()
                  if path not in UNDOCUMENTED}
    assert documented == served
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation.get("responses"), f"{method} {path} documents no responses"
