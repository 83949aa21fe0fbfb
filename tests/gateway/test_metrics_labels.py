"""The gateway's request series: a label's values are a fixed set, whatever a client sends."""

from __future__ import annotations

from flask import Flask

from services.gateway import metrics


def _methods() -> set[str]:
    return {
        sample.labels["method"]
        for family in metrics.REQUESTS.collect()
        for sample in family.samples
    }


def test_made_up_methods_do_not_add_series():
    app = Flask(__name__)
    metrics.install(app)

    @app.route("/thing", methods=["GET", "POST"])
    def thing():
        return "ok"

    client = app.test_client()
    for method in ("GET", "POST", "DELETE"):
        client.open("/thing", method=method)
    for n in range(20):
        client.open("/thing", method=f"MADEUP{n}")
        client.open("/nowhere", method=f"X-{n}")
    methods = _methods()
    assert methods <= {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "other"}, sorted(
        methods
    )
    assert {"GET", "POST", "DELETE", "other"} <= methods
