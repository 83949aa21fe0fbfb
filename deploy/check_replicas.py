"""The replicated shape of deploy/k8s and deploy/compose.yaml, checked (by deploy/check.py):

* every Deployment runs at least 2 replicas, and every other workload too unless it is named
  in SINGLE_REPLICA with the reason it must run alone;
* every Deployment rolls (RollingUpdate) without going below its replicas (maxUnavailable 0);
* every Deployment has a PodDisruptionBudget selecting its pods that keeps at least one, and
  every PodDisruptionBudget selects some workload;
* every container of a Deployment or StatefulSet has a liveness and a readiness probe;
* no ReadWriteOnce (or ReadWriteOncePod) claim is mounted by a workload of more than one
  replica: it could attach to one node only, and its files would be one replica's; nor is a
  claim deploy/k8s does not define, whose access mode cannot be checked here;
* every workload given a PostgreSQL Secret waits for the migrations (an init container
  running `platformrun.migrate --check`), so the platform-migrate Job runs before it; the
  schemas it names are ones platformrun.migrate knows (a misspelt one would otherwise pass
  at once), and the very Secret keys the pod's URLs come from;
* in compose, every long-running platform service runs 2 replicas unless named in
  SINGLE_REPLICA, and the broker is a cluster of three nodes.

Pure functions of the parsed YAML (and of the schemas platformrun.migrate knows, read from
its folders unless given), so that tests can break a manifest and see the problem.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable
from pathlib import Path

SINGLE_REPLICA = {
    "witness-bank": "another party's witness: one key, one state (deploy/k8s/witnesses.yaml)",
    "witness-regulator": "another party's witness: one key, one state (deploy/k8s/witnesses.yaml)",
}
"""Workloads that run one replica on purpose, each with its reason."""

WORKLOADS = ("Deployment", "StatefulSet")
SINGLE_ATTACH = {"ReadWriteOnce", "ReadWriteOncePod"}
MIGRATIONS_SECRET = "platform-postgres"


def migration_schemas() -> set[str]:
    """The schemas platformrun.migrate has migrations for (this script runs from deploy/)."""
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    from platformrun.migrate import known

    return set(known())


def _keeps_one(min_available: int | str) -> bool:
    """minAvailable as a count or a share ("50%"), which Kubernetes rounds up: any share
    above 0% keeps a pod."""
    if isinstance(min_available, str) and min_available.endswith("%"):
        return float(min_available[:-1]) > 0
    return int(min_available) >= 1


def _schemas_checked(command: list[str]) -> list[str]:
    """The `--schema X` (or `--schema=X`) of a platformrun.migrate command line."""
    named = [b for a, b in zip(command, command[1:], strict=False) if a == "--schema"]
    return named + [w.split("=", 1)[1] for w in command if w.startswith("--schema=")]


def _secret_keys(doc: dict, secret: str) -> set[str]:
    """The keys of `secret` the pod's containers take environment variables from."""
    pod = _pod(doc)
    return {
        env["valueFrom"]["secretKeyRef"]["key"]
        for c in pod.get("initContainers", []) + pod.get("containers", [])
        for env in c.get("env", [])
        if env.get("valueFrom", {}).get("secretKeyRef", {}).get("name") == secret
    }


def _migration_wait_problems(doc: dict, where: str, schemas: Collection[str]) -> list[str]:
    waits = [
        c
        for c in _pod(doc).get("initContainers", [])
        if "platformrun.migrate" in c.get("command", []) and "--check" in c.get("command", [])
    ]
    if not waits:
        return [
            f"{where}: uses {MIGRATIONS_SECRET} but does not wait for the migrations"
            " (an init container running platformrun.migrate --check)"
        ]
    problems = []
    keys = _secret_keys(doc, MIGRATIONS_SECRET)
    for container in waits:
        checked = _schemas_checked(container.get("command", []) + container.get("args", []))
        unknown = sorted(set(checked) - set(schemas))
        if unknown:
            problems.append(
                f"{where}/{container['name']}: checks schema {unknown[0]!r}, which"
                f" platformrun.migrate has no migrations for (known: {sorted(schemas)})"
            )
        elif checked and keys and set(checked) != keys:
            problems.append(
                f"{where}/{container['name']}: checks schema(s) {sorted(checked)} but the pod's"
                f" URLs come from {MIGRATIONS_SECRET} key(s) {sorted(keys)}"
            )
    return problems


def _name(doc: dict) -> str:
    return doc["metadata"]["name"]


def _pod(doc: dict) -> dict:
    return doc.get("spec", {}).get("template", {}).get("spec", {})


def _pod_labels(doc: dict) -> dict:
    return doc.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})


def _selects(selector: dict, labels: dict) -> bool:
    wanted = selector.get("matchLabels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def _secrets_used(doc: dict) -> set[str]:
    pod = _pod(doc)
    found = {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
    for c in pod.get("initContainers", []) + pod.get("containers", []):
        for env in c.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                found.add(ref["name"])
    return found


def kubernetes_problems(
    manifests: Iterable[dict], schemas: Collection[str] | None = None
) -> list[str]:
    """`schemas`: those platformrun.migrate knows (read from it when not given)."""
    schemas = migration_schemas() if schemas is None else schemas
    docs = [d for d in manifests if d]
    problems: list[str] = []
    workloads = [d for d in docs if d.get("kind") in WORKLOADS]
    budgets = [d for d in docs if d.get("kind") == "PodDisruptionBudget"]
    claims = {
        _name(d): set(d.get("spec", {}).get("accessModes", []))
        for d in docs
        if d.get("kind") == "PersistentVolumeClaim"
    }
    for doc in workloads:
        kind, name, spec = doc["kind"], _name(doc), doc.get("spec", {})
        where = f"{kind} {name}"
        replicas = spec.get("replicas", 1)
        if replicas < 2 and name not in SINGLE_REPLICA:
            problems.append(f"{where}: replicas {replicas} (at least 2, or in SINGLE_REPLICA)")
        if name in SINGLE_REPLICA and replicas != 1:
            problems.append(f"{where}: named in SINGLE_REPLICA but runs {replicas} replicas")
        if not _selects(spec.get("selector", {}), _pod_labels(doc)):
            problems.append(f"{where}: its selector does not select its own pods")
        if kind == "Deployment":
            strategy = spec.get("strategy", {})
            rolling = strategy.get("rollingUpdate", {})
            if strategy.get("type") != "RollingUpdate":
                problems.append(f"{where}: strategy {strategy.get('type')!r}, not RollingUpdate")
            elif str(rolling.get("maxUnavailable")) not in ("0", "0%"):
                problems.append(f"{where}: a rollout may go below its replicas (maxUnavailable)")
            mine = [
                b
                for b in budgets
                if _selects(b.get("spec", {}).get("selector", {}), _pod_labels(doc))
            ]
            if not mine:
                problems.append(f"{where}: no PodDisruptionBudget selects its pods")
            for budget in mine:
                if not _keeps_one(budget.get("spec", {}).get("minAvailable", 0)):
                    problems.append(f"PodDisruptionBudget {_name(budget)}: minAvailable below 1")
        for c in _pod(doc).get("containers", []):
            for probe in ("livenessProbe", "readinessProbe"):
                if probe not in c:
                    problems.append(f"{where}/{c['name']}: no {probe}")
        for volume in _pod(doc).get("volumes", []):
            claim = volume.get("persistentVolumeClaim", {}).get("claimName")
            if not claim or replicas < 2:
                continue
            if claim not in claims:
                problems.append(
                    f"{where}: {replicas} replicas mount the claim {claim}, not defined in"
                    " deploy/k8s: its access mode (ReadWriteOnce?) cannot be checked"
                )
            elif claims[claim] & SINGLE_ATTACH:
                problems.append(
                    f"{where}: {replicas} replicas mount the single-attach claim {claim}"
                )
        if MIGRATIONS_SECRET in _secrets_used(doc):
            problems += _migration_wait_problems(doc, where, schemas)
    for budget in budgets:
        selector = budget.get("spec", {}).get("selector", {})
        if not any(_selects(selector, _pod_labels(d)) for d in workloads):
            problems.append(f"PodDisruptionBudget {_name(budget)} selects no workload's pods")
    return problems


def compose_problems(compose: dict) -> list[str]:
    problems: list[str] = []
    services = compose.get("services", {})
    for name, svc in services.items():
        if "platform" not in svc.get("profiles", []) or svc.get("restart") == "no":
            continue  # a one-shot step, or not the platform's
        replicas = (svc.get("deploy") or {}).get("replicas", 1)
        if replicas < 2 and name not in SINGLE_REPLICA:
            problems.append(f"compose {name}: {replicas} replica (at least 2, or SINGLE_REPLICA)")
    brokers = [n for n, svc in services.items() if str(svc.get("image", "")).startswith("rabbitmq")]
    if len(brokers) < 3:
        problems.append(f"compose: {len(brokers)} RabbitMQ node(s), not a cluster of three")
    return problems
