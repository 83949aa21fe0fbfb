"""Finding 4, the sweep: schemathesis over the gateway's own OpenAPI document, for every role.

The finding was a handful of 500s on inputs a client gets wrong; this makes sure there are no
others, and that every answer matches what the document says of it. The whole platform runs
as `make run` starts it (services, relays, ledger, witnesses, the gateway on waitress), on the
session's RabbitMQ, in demo mode. For each role (anonymous, and a dev-login token for each of
the others) schemathesis reads /api/v1/openapi.json and tests every operation it lists with
two checks: not_a_server_error and response_schema_conformance. Nothing here names a path:
operations that other areas add are covered as soon as the document lists them.

What each role can reach gets the coverage phase (boundaries, wrong types, missing fields)
and a few fuzzed cases. What it cannot reach answers 401/403 before
any input is read, and public operations answer everyone alike (the anonymous run covers them
fully), so those get one fuzzed case each. Each role has its own
seeded world (merchant, product, card, hold, complaint, alert, notarised event) whose ids fill
the path parameters, and the six runs go in parallel. Generation is deterministic: the same
inputs every run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from devenv.ports import free_port
from platformrun.__main__ import build_children
from tests.support.harness import ROOT, wait_until
from tests.support.merchants import fresh_uscc

pytestmark = pytest.mark.broker

ROLES = ("anonymous", "consumer", "merchant", "regulator", "bank", "operator")
CHECKS = "not_a_server_error,response_schema_conformance"
# Bounds that keep the whole sweep at about two minutes on a busy two-core box.
MAX_EXAMPLES = 3
RUN_TIMEOUT = 900


@pytest.fixture(scope="module")
def platform(tmp_path_factory, rabbit_node):
    """`make run`'s processes on the session's broker (own vhost); yields the gateway's URL."""
    var = tmp_path_factory.mktemp("platform")
    vhost = f"t-{uuid.uuid4().hex[:12]}"
    port = free_port()
    children = build_children(var, rabbit_node.add_vhost(vhost), port)
    for child in children:
        child.env = {**child.env, "PLATFORM_MODE": "demo"}
    url = f"http://127.0.0.1:{port}"
    try:
        for child in children:
            child.start()
        wait_until(lambda: _healthy(url), timeout=120, interval=0.5, what="the platform")
        yield url
    finally:
        for child in reversed(children):
            child.stop()
        rabbit_node.ctl("delete_vhost", vhost)


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


class World:
    """One role's real objects, so its cases reach past the 404 of an unknown id: a merchant
    with a product and a promotion, a consumer's card with a confirmed spend and a pending
    hold, a complaint, the alert it raised and a notarised event."""

    def __init__(self, url: str, tag: str):
        self.url = url
        self.tokens: dict[str, dict] = {}
        self.subjects = {
            "consumer": f"c-{tag}",
            "regulator": f"r-{tag}",
            "bank": f"b-{tag}",
            "operator": f"o-{tag}",
            "checker": f"o-{tag}-2",
        }
        operator = self.token("operator")
        merchant_id = self.post(
            "/api/v1/merchants",
            operator,
            {
                "name": f"种子健身 {tag}",
                "uscc": fresh_uscc(),
                "industry": "fitness",
                "address": "威海 1 Haibin Road",
                "contact_phone": "13812345678",
            },
        )["merchant_id"]
        # A second operator approves (maker-checker).
        self.post(f"/api/v1/merchants/{merchant_id}/approve", self.token("checker"), {})
        self.subjects["merchant"] = merchant_id
        merchant, consumer = self.token("merchant"), self.token("consumer")
        product = self.post(
            f"/api/v1/merchants/{merchant_id}/products",
            merchant,
            {
                "type": "stored_value",
                "name": "100+10",
                "price": 10_000,
                "bonus": 1_000,
                "validity_days": 365,
            },
        )
        soon = datetime.now(UTC) + timedelta(days=1)
        self.post(
            f"/api/v1/merchants/{merchant_id}/promotions",
            merchant,
            {
                "product_id": product["product_id"],
                "name": "春季",
                "bonus": 500,
                "starts_at": soon.isoformat(),
                "ends_at": (soon + timedelta(days=7)).isoformat(),
            },
        )
        card = self.post("/api/v1/cards", consumer, {"product_id": product["product_id"]})
        spend = self.post(f"/api/v1/cards/{card['card_id']}/redemptions", merchant, {"amount": 100})
        event = self.post(f"/api/v1/redemptions/{spend['redemption_id']}/confirm", consumer, {})
        hold = self.post(f"/api/v1/cards/{card['card_id']}/redemptions", merchant, {"amount": 100})
        complaint = self.post(
            "/api/v1/complaints",
            consumer,
            {
                "merchant_id": merchant_id,
                "card_id": card["card_id"],
                "category": "quality",
                "text": "毛巾不干净",
            },
        )
        self.ids = {
            "merchant_id": merchant_id,
            "product_id": product["product_id"],
            "card_id": card["card_id"],
            "payment_id": card["payment"]["payment_id"],
            "redemption_id": hold["redemption_id"],
            "complaint_id": complaint["complaint_id"],
            "event_id": event["event_id"],
        }

    def find_alert(self) -> None:
        regulator = self.token("regulator")
        self.ids["alert_id"] = wait_until(
            lambda: next(
                (
                    alert["alert_id"]
                    for alert in requests.get(
                        f"{self.url}/api/v1/alerts", headers=regulator, timeout=10
                    ).json()["items"]
                    if alert["merchant_id"] == self.subjects["merchant"]
                ),
                None,
            ),
            timeout=60,
            interval=0.5,
            what="the alert the complaint raised",
        )

    def token(self, role: str) -> dict:
        if role not in self.tokens:  # one dev-login per role and world
            self.tokens[role] = self._login(role)
        return self.tokens[role]

    def _login(self, role: str) -> dict:
        answer = requests.post(
            f"{self.url}/api/v1/auth/dev-login",
            timeout=10,
            json={
                "role": "operator" if role == "checker" else role,
                "subject": self.subjects[role],
            },
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    def post(self, path: str, headers: dict, body: dict) -> dict:
        answer = requests.post(f"{self.url}{path}", headers=headers, json=body, timeout=30)
        assert answer.status_code in (200, 201), (path, answer.status_code, answer.text)
        return answer.json()


def _light(document: dict, role: str) -> list[str]:
    """Operations that `role` cannot reach, and, for a caller with a token, the public ones."""
    names = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            secured = bool(operation.get("security"))
            roles = operation.get("x-roles")
            if role == "anonymous":
                light = secured
            else:
                light = not secured or bool(roles) and role not in roles
            if light:
                names.append(f"{method.upper()} {path}")
    return sorted(names)


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"


def _config(role: str, world: World, document: dict) -> str:
    """schemathesis.toml for one role's run."""
    lines = ["workers = 1"]
    if role != "anonymous":
        lines.append(f"headers = {_toml({'Authorization': world.token(role)['Authorization']})}")
    # A method a path does not serve gets the same answer whoever asks: tried once, anonymously.
    unexpected = '["DELETE"]' if role == "anonymous" else "[]"
    lines += [
        "[generation]",
        "deterministic = true",
        f"max-examples = {MAX_EXAMPLES}",
        'database = "none"',
        "[phases.coverage]",
        f"unexpected-methods = {unexpected}",
        # Stateful sequences cost as much as all the rest and, for roles that can reach
        # few links, stop on hypothesis' "no progress can be made"; the seeded worlds
        # give the single cases real objects instead.
        "[phases.stateful]",
        "enabled = false",
        "[parameters]",
    ]
    lines += [f"{json.dumps('path.' + name)} = {_toml(value)}" for name, value in world.ids.items()]
    light = _light(document, role)
    if light:
        lines += [
            "[[operations]]",
            f"include-name = {_toml(light)}",
            "phases.coverage.enabled = false",
            "generation.max-examples = 1",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def runs(platform, tmp_path_factory):
    """Each role's schemathesis run, all six at once: role -> (exit code, output, report)."""
    document = requests.get(f"{platform}/api/v1/openapi.json", timeout=10).json()
    worlds = {role: World(platform, role) for role in ROLES}
    started, processes = time.monotonic(), {}
    for role, world in worlds.items():
        world.find_alert()
        workdir = tmp_path_factory.mktemp(f"schemathesis-{role}")
        (workdir / "schemathesis.toml").write_text(_config(role, world, document))
        out = open(workdir / "output.txt", "w")
        processes[role] = (
            workdir,
            out,
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "schemathesis.cli",
                    "--config-file",
                    str(workdir / "schemathesis.toml"),
                    "--no-color",
                    "run",
                    f"{platform}/api/v1/openapi.json",
                    "--checks",
                    CHECKS,
                    "--report",
                    "ndjson",
                    "--report-ndjson-path",
                    str(workdir / "events.ndjson"),
                ],
                cwd=workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            ),
        )
    results = {}
    try:
        for role, (workdir, out, process) in processes.items():
            code = process.wait(timeout=max(1.0, RUN_TIMEOUT - (time.monotonic() - started)))
            out.close()
            results[role] = (code, (workdir / "output.txt").read_text(), workdir / "events.ndjson")
    finally:
        for _, out, process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
            out.close()
    print(f"\nschemathesis: six roles in {time.monotonic() - started:.0f}s")
    return results, sum(len(item) for item in document["paths"].values())


def _failures(report) -> list[str]:
    """One line per failed or errored scenario in a run's NDJSON events."""
    found = []
    for line in report.read_text().splitlines():
        finished = json.loads(line).get("ScenarioFinished")
        if finished and finished.get("status") in ("failure", "error"):
            found.append(
                f"{finished['phase']}: {finished['recorder'].get('label')} ({finished['status']})"
            )
    return found


def _cases(report) -> int:
    return sum(
        len(json.loads(line)["ScenarioFinished"]["recorder"].get("cases", {}))
        for line in report.read_text().splitlines()
        if '"ScenarioFinished"' in line
    )


@pytest.mark.parametrize("role", ROLES)
def test_no_server_error_and_every_answer_matches_the_document(role, runs):
    results, operations = runs
    code, output, report = results[role]
    failures = _failures(report) if report.exists() else ["no report written"]
    marks = [output.find(m) for m in ("= FAILURES =", "= ERRORS =") if m in output]
    assert code == 0 and not failures, (
        f"{role}: exit code {code}, {len(failures)} failing scenarios:\n"
        + "\n".join(failures)
        + "\n\n"
        + output[min(marks, default=-5_000) :][:20_000]
    )
    assert _cases(report) >= operations, f"{role}: fewer cases than operations"
