"""GET /healthz: what the operators' probes and monitoring read.

* `ok`, 200: RabbitMQ and every service answer, and every relay keeps up.
* `degraded`, 200: everything answers, but a relay is behind, slow or has parked an event;
  `problems` names the relay and why. Requests are still served correctly (events reach
  their consumers late, or a parked one after an operator replays it), so this is for
  monitoring and alerts, not for the readiness probe: a 503 here would take every gateway out
  of the load balancer for a backlog that no restart or re-routing fixes.
* `unavailable`, 503: a dependency does not answer; traffic should go elsewhere.
"""
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
    answering = all(dep.get("status") == "ok" for dep in dependencies.values())
    problems = [f"{name} relay: {problem}" for name, dep in dependencies.items()
                for problem in dep.get("relay_problems", ())]
    status = "unavailable" if not answering else "degraded" if problems else "ok"
    body = {"status": status, "mode": settings.mode, "problems": problems,
            "dependencies": dependencies}
    return jsonify(body), 200 if answering else 503
