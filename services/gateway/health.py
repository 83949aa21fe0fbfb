"""GET /healthz: what the operators' probes and monitoring read.

* `ok`, 200: RabbitMQ and every service answer, and every relay keeps up.
* `degraded`, 200: everything answers, but a relay is behind, slow or has parked an event,
  or a consumer has parked messages; `problems` names the relay or queue, why, and the
  command to run. Requests are still served correctly (events reach
  their consumers late, or a parked one after an operator replays it), so this is for
  monitoring and alerts, not for the readiness probe: a 503 here would take every gateway out
  of the load balancer for a backlog that no restart or re-routing fixes.
* `unavailable`, 503: a dependency does not answer; traffic should go elsewhere.

The probes: `/livez` answers 200 from the gateway itself (a 200 says its threads serve;
nothing else is asked, so a broker outage never restarts every gateway), `/readyz` 200 when
RabbitMQ and every service answer, 503 naming what does not (what a load balancer reads).
All three are public, keep no state and say nothing beyond a status and what is down.
`/metrics` (services/gateway/metrics.py) is not on this port: it is served on the operations
port, `METRICS_PORT`, like every other process's (services/gateway/serve.py), so nothing that
reaches the API can read it.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from services.gateway.clients import clients
from services.gateway.openapi import operation

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@operation(
    "200 when RabbitMQ and every service answer (status ok, or degraded naming a"
    " relay that is behind or has parked events), 503 naming what is down",
    tag="operations",
    ok="ok or degraded",
    also={503: ("unavailable", None)},
    contract_errors=False,
)
def healthz():
    settings = current_app.config["SETTINGS"]
    dependencies = clients().health(settings.services)
    answering = all(dep.get("status") == "ok" for dep in dependencies.values())
    problems = [
        f"{name} relay: {problem}"
        for name, dep in dependencies.items()
        for problem in dep.get("relay_problems", ())
    ] + [
        f"{name} consumers: {problem}"
        for name, dep in dependencies.items()
        for problem in dep.get("consumer_problems", ())
    ]
    status = "unavailable" if not answering else "degraded" if problems else "ok"
    body = {
        "status": status,
        "mode": settings.mode,
        "problems": problems,
        "dependencies": dependencies,
    }
    return jsonify(body), 200 if answering else 503


@blueprint.get("/livez")
@operation(
    "200 while the gateway serves requests (asks nothing else)",
    tag="operations",
    ok="live",
    contract_errors=False,
)
def livez():
    return jsonify({"status": "ok", "problems": []})


@blueprint.get("/readyz")
@operation(
    "200 when RabbitMQ and every service answer; 503 naming what does not",
    tag="operations",
    ok="ready",
    also={503: ("not ready", None)},
    contract_errors=False,
)
def readyz():
    settings = current_app.config["SETTINGS"]
    dependencies = clients().health(settings.services)
    problems = [
        f"{name}: {dep.get('error', dep.get('status'))}"
        for name, dep in dependencies.items()
        if dep.get("status") != "ok"
    ]
    body = {"status": "failing" if problems else "ok", "problems": problems}
    return jsonify(body), 503 if problems else 200
