"""The deployment files stay true to the code and to the replicated shape: `deploy/check.py`
needs no Docker or cluster. Each invariant is shown to catch a manifest that breaks it."""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import sys
import threading
import tomllib

import pytest
import yaml

from devenv.ports import free_port
from ledger.service import NOTARY_QUEUE
from tests.support.deploy_files import K8S, check_replicas, compose, find, manifests
from tests.support.harness import ROOT

checks = check_replicas()


def test_deploy_files_match_the_code():
    done = subprocess.run(
        [sys.executable, "deploy/check.py"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all checks passed" in done.stdout


def test_the_shipped_files_are_in_the_replicated_shape():
    docs = manifests()
    assert checks.kubernetes_problems(docs) == []
    assert checks.compose_problems(compose()) == []
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} >= {
        "merchant", "escrow", "risk", "inspection", "gateway", "ledger",
        "merchant-relay", "escrow-relay", "risk-relay", "inspection-relay",
    }  # fmt: skip
    assert all(d["spec"]["replicas"] >= 2 for d in deployments)
    assert not [d for d in docs if d["kind"] == "PersistentVolumeClaim"], "no RWO claim is left"


def problems_after(change) -> list[str]:
    docs = manifests()
    change(docs)
    return checks.kubernetes_problems(docs)


def one_replica(docs):
    find(docs, "Deployment", "merchant")["spec"]["replicas"] = 1


def recreate(docs):
    find(docs, "Deployment", "escrow")["spec"]["strategy"] = {"type": "Recreate"}


def may_go_below(docs):
    find(docs, "Deployment", "risk")["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] = 1


def no_budget(docs):
    docs.remove(find(docs, "PodDisruptionBudget", "gateway"))


def budget_of_nothing(docs):
    selector = find(docs, "PodDisruptionBudget", "inspection")["spec"]["selector"]
    selector["matchLabels"] = {"app.kubernetes.io/name": "inspektion"}


def budget_of_zero(docs):
    find(docs, "PodDisruptionBudget", "ledger")["spec"]["minAvailable"] = 0


def no_readiness(docs):
    container = find(docs, "Deployment", "escrow-relay")["spec"]["template"]["spec"]
    del container["containers"][0]["readinessProbe"]


def no_liveness_on_a_witness(docs):
    container = find(docs, "StatefulSet", "witness-bank")["spec"]["template"]["spec"]
    del container["containers"][0]["livenessProbe"]


def rwo_claim(docs):
    docs.append(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "gateway-data"},
            "spec": {"accessModes": ["ReadWriteOnce"]},
        }
    )
    pod = find(docs, "Deployment", "gateway")["spec"]["template"]["spec"]
    pod["volumes"].append({"name": "data", "persistentVolumeClaim": {"claimName": "gateway-data"}})


def no_migration_wait(docs):
    find(docs, "Deployment", "merchant")["spec"]["template"]["spec"]["initContainers"] = []


def two_witnesses(docs):
    find(docs, "StatefulSet", "witness-regulator")["spec"]["replicas"] = 2


def budget_of_zero_percent(docs):
    find(docs, "PodDisruptionBudget", "escrow")["spec"]["minAvailable"] = "0%"


def claim_defined_elsewhere(docs):
    """A claim made outside deploy/k8s: its access mode is unknown here, maybe ReadWriteOnce."""
    pod = find(docs, "Deployment", "gateway")["spec"]["template"]["spec"]
    pod["volumes"].append({"name": "data", "persistentVolumeClaim": {"claimName": "made-by-hand"}})


def _schema_check(docs, name: str) -> list[str]:
    init = find(docs, "Deployment", name)["spec"]["template"]["spec"]["initContainers"]
    return next(c for c in init if "platformrun.migrate" in c["command"])["command"]


def misspelt_schema_check(docs):
    command = _schema_check(docs, "gateway")
    command[command.index("--schema") + 1] = "gatway"


def another_schema_checked(docs):
    command = _schema_check(docs, "merchant")
    command[command.index("--schema") + 1] = "escrow"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (one_replica, "Deployment merchant: replicas 1"),
        (recreate, "Deployment escrow: strategy 'Recreate', not RollingUpdate"),
        (may_go_below, "Deployment risk: a rollout may go below its replicas"),
        (no_budget, "Deployment gateway: no PodDisruptionBudget selects its pods"),
        (budget_of_nothing, "PodDisruptionBudget inspection selects no workload's pods"),
        (budget_of_zero, "PodDisruptionBudget ledger: minAvailable below 1"),
        (no_readiness, "Deployment escrow-relay/relay: no readinessProbe"),
        (no_liveness_on_a_witness, "StatefulSet witness-bank/witness: no livenessProbe"),
        (rwo_claim, "Deployment gateway: 2 replicas mount the single-attach claim gateway-data"),
        (no_migration_wait, "Deployment merchant: uses platform-postgres but does not wait"),
        (two_witnesses, "StatefulSet witness-regulator: named in SINGLE_REPLICA but runs 2"),
        (budget_of_zero_percent, "PodDisruptionBudget escrow: minAvailable below 1"),
        (claim_defined_elsewhere, "Deployment gateway: 2 replicas mount the claim made-by-hand"),
        (misspelt_schema_check, "Deployment gateway/schema-ready: checks schema 'gatway'"),
        (another_schema_checked, "Deployment merchant/schema-ready: checks schema(s) ['escrow']"),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_a_manifest_that_breaks_the_shape_is_reported(change, expected):
    found = problems_after(change)
    assert any(p.startswith(expected) for p in found), found
    # Only what was broken (a budget selecting nothing also leaves its Deployment without one).
    assert len(found) == (2 if change is budget_of_nothing else 1), found


@pytest.mark.parametrize("share", ["50%", "100%", "1%"])
def test_a_budget_given_as_a_share_of_the_pods_keeps_at_least_one(share):
    """Kubernetes rounds a minAvailable share up: any share above 0% keeps a pod."""

    def budget_of_a_share(docs):
        find(docs, "PodDisruptionBudget", "ledger")["spec"]["minAvailable"] = share

    assert problems_after(budget_of_a_share) == []


def test_compose_that_breaks_the_shape_is_reported():
    single = compose()
    del single["services"]["gateway"]["deploy"]
    assert checks.compose_problems(single) == [
        "compose gateway: 1 replica (at least 2, or SINGLE_REPLICA)"
    ]
    one_broker = compose()
    for name in ("rabbitmq-2", "rabbitmq-3"):
        del one_broker["services"][name]
    assert checks.compose_problems(one_broker) == [
        "compose: 1 RabbitMQ node(s), not a cluster of three"
    ]


# --- the ledger's probes: a standby (nothing listening yet) counts as up ---------------------
def ledger_probe(kind: str, port: int) -> list[str]:
    docs = list(yaml.safe_load_all((K8S / "ledger.yaml").read_text()))
    container = find(docs, "Deployment", "ledger")["spec"]["template"]["spec"]["containers"][0]
    command = container[kind]["exec"]["command"]
    assert "127.0.0.1:9100" in command[2]
    return [sys.executable, *command[1:2], command[2].replace(":9100", f":{port}")]


class _Answer(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802 - the base class's name
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("kind", ["livenessProbe", "readinessProbe"])
@pytest.mark.parametrize(
    ("listening", "status", "passes"),
    [(False, None, True), (True, 200, True), (True, 503, False)],
    ids=["standby", "writer-ok", "writer-failing"],
)
def test_the_ledger_probe_passes_a_standby_and_follows_a_writer(kind, listening, status, passes):
    port = free_port()
    server = None
    if listening:
        handler = type("Handler", (_Answer,), {"status": status})
        server = http.server.HTTPServer(("127.0.0.1", port), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        done = subprocess.run(ledger_probe(kind, port), capture_output=True, timeout=30)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
    assert (done.returncode == 0) is passes, done.stderr


def test_the_dashboard_shows_a_stuck_ledger_by_its_notary_queue():
    """Both ledger pods standby: events wait in the notary queue and nobody consumes it."""
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "platform-dashboard.json").read_text())
    queried = {t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", ())}
    for series in ("prepaid_queue_messages", "prepaid_queue_consumers"):
        assert f'max({series}{{queue="{NOTARY_QUEUE}"}})' in queried
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])


def test_the_image_copies_every_package_pyproject_installs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*").rstrip(".") for pattern in included}
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) \1$", dockerfile, re.MULTILINE))
    assert packages - copied == set(), "packages pip installs but the image lacks"
    assert copied - packages == set(), "folders copied that pyproject does not install"
