"""GET /healthz: 200 once every dependency answers, 503 naming the ones that do not."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

blueprint = Blueprint("health", __name__)


def _check_services(pool, services) -> dict:
    report: dict[str, dict] = {}
    try:
        with pool.proxy() as proxy:
            report["rabbitmq"] = {"status": "ok"}
            pending = {}
            for name in services:
                try:
                    pending[name] = proxy[name].health.call_async()
                except Exception as exc:  # noqa: BLE001 - e.g. UnknownService: not started
                    report[name] = {"status": "down", "error": type(exc).__name__}
            for name, reply in pending.items():
                try:
                    report[name] = reply.result()
                except Exception as exc:  # noqa: BLE001 - reported, not raised
                    report[name] = {"status": "down", "error": type(exc).__name__}
    except Exception as exc:  # noqa: BLE001 - the broker itself is unreachable
        report["rabbitmq"] = {"status": "down", "error": type(exc).__name__}
        for name in services:
            report.setdefault(name, {"status": "unknown", "error": "rabbitmq is down"})
    return report


@blueprint.get("/healthz")
def healthz():
    settings = current_app.config["SETTINGS"]
    dependencies = _check_services(current_app.config["RPC_POOL"], settings.services)
    healthy = all(dep.get("status") == "ok" for dep in dependencies.values())
    body = {"status": "ok" if healthy else "degraded", "mode": settings.mode,
            "dependencies": dependencies}
    return jsonify(body), 200 if healthy else 503
