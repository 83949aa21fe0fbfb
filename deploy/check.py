"""Static checks of deploy/: `.venv/bin/python deploy/check.py` from the repository root.

The deployment files name modules, env vars, config keys, Secrets and ConfigMaps that only the
code defines, and nothing else notices when one side is renamed. This checks that:
* every YAML file parses;
* the Kubernetes copies of the nameko configs are identical to deploy/nameko*.yaml, and the
  policy in the ConfigMap passes the strict policy loader;
* every `python -m` module and every nameko `module:Class` the commands run exists;
* every env var set for a process is read by the code, by a nameko config (${NAME}) or by a
  Kubernetes $(NAME) expansion, and every nameko config key is read by the code;
* every ConfigMap, Secret and PVC a manifest references is defined in deploy/k8s or is one
  the operator provides (listed in deploy/README.md);
* every series the Grafana dashboard (deploy/grafana/*.json) queries is one the code defines;
* the replicated shape (deploy/check_replicas.py): replicas, rollouts, disruption budgets,
  probes, no single-attach volume under several replicas, the migrations first.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_replicas import compose_problems, kubernetes_problems  # noqa: E402 - beside this file

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
CODE_DIRS = ("services", "ledger", "messaging", "eventstore", "policy", "privacy", "platformrun")
# Keys nameko itself reads from its config.
NAMEKO_KEYS = {"AMQP_URI", "max_workers", "LOGGING"}
# Set by the image (deploy/Dockerfile) or read by Python itself.
INTERPRETER_ENV = {"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"}

errors: list[str] = []


def fail(message: str) -> None:
    errors.append(message)


def code_text() -> str:
    return "\n".join(p.read_text() for d in CODE_DIRS for p in (ROOT / d).rglob("*.py"))


def load_all() -> tuple[dict, list[dict]]:
    for path in sorted(DEPLOY.rglob("*.yaml")):
        try:
            list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError as exc:
            fail(f"{path.relative_to(ROOT)} does not parse: {exc}")
    if errors:
        report()
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    manifests = [
        doc
        for name in kustomization["resources"]
        for doc in yaml.safe_load_all((K8S / name).read_text())
        if doc
    ]
    return compose, manifests


def check_copies() -> None:
    for name in ("nameko.yaml", "nameko-ledger.yaml"):
        if (DEPLOY / name).read_text() != (K8S / "config" / name).read_text():
            fail(f"deploy/k8s/config/{name} differs from deploy/{name}")
    from policy import load_policy

    try:
        load_policy(K8S / "config" / "policy.v1.toml")
    except Exception as exc:  # noqa: BLE001 - reported
        fail(f"deploy/k8s/config/policy.v1.toml is rejected by the policy loader: {exc}")


def pod_containers(doc: dict) -> list[dict]:
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    return spec.get("initContainers", []) + spec.get("containers", [])


def commands(compose: dict, manifests: list[dict]) -> list[tuple[str, list[str]]]:
    found = [
        (name, svc["command"]) for name, svc in compose["services"].items() if "command" in svc
    ]
    found += [
        (f"{doc['metadata']['name']}/{c['name']}", c.get("command", []) + c.get("args", []))
        for doc in manifests
        for c in pod_containers(doc)
    ]
    return found


def check_commands(compose: dict, manifests: list[dict]) -> None:
    sys.path.insert(0, str(ROOT))
    for where, argv in commands(compose, manifests):
        words = " ".join(argv).split()  # sh -c scripts: look inside the script too
        for i, word in enumerate(words[:-1]):
            if word == "-m" and words[i - 1].endswith("python"):
                module = words[i + 1]
                if importlib.util.find_spec(module) is None:
                    fail(f"{where}: no module {module}")
        for word in words:
            match = re.fullmatch(r"([a-z_.]+):([A-Z]\w+)", word.strip("\"'"))
            if match:
                module = importlib.import_module(match[1])
                if not hasattr(module, match[2]):
                    fail(f"{where}: {match[1]} has no {match[2]}")


def check_env(compose: dict, manifests: list[dict]) -> None:
    code = code_text()
    read_by_code = set(re.findall(r"environ(?:\.get)?[\[(]\s*\"(\w+)\"", code))
    read_by_code |= set(re.findall(r"FAULT_ENV = \"(\w+)\"", code))
    configs = {name: (DEPLOY / name).read_text() for name in ("nameko.yaml", "nameko-ledger.yaml")}
    templated = {v for text in configs.values() for v in re.findall(r"\$\{(\w+)", text)}
    config_keys = {k for text in configs.values() for k in re.findall(r"^(\w+):", text, re.M)}
    read_config = set(re.findall(r"config(?:\.get)?[\[(]\s*\"(\w+)\"", code))
    read_config |= set(re.findall(r"config_key(?::\s*str)?\s*=\s*\"(\w+)\"", code))
    for key in sorted(config_keys - read_config - NAMEKO_KEYS):
        fail(f"nameko config key {key} is read by no code")
    for name, svc in compose["services"].items():
        if "platform" not in svc.get("profiles", []):
            continue
        for var in svc.get("environment", {}):
            if var not in read_by_code | templated | INTERPRETER_ENV:
                fail(f"compose {name}: {var} is read by nothing")
    for doc in manifests:
        for c in pod_containers(doc):
            argv = " ".join(c.get("command", []) + c.get("args", []))
            expanded = set(re.findall(r"\$\((\w+)\)", argv))
            for env in c.get("env", []):
                if env["name"] not in read_by_code | templated | expanded | INTERPRETER_ENV:
                    fail(f"{doc['metadata']['name']}/{c['name']}: {env['name']} is read by nothing")


def check_references(manifests: list[dict]) -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    defined = {("ConfigMap", g["name"]) for g in kustomization.get("configMapGenerator", [])}
    defined |= {(doc["kind"], doc["metadata"]["name"]) for doc in manifests}
    readme = (DEPLOY / "README.md").read_text()
    operator = set(re.findall(r"^\| `([\w-]+)` \| (?:Secret|ConfigMap)", readme, re.M))
    for doc in manifests:
        spec = doc.get("spec", {}).get("template", {}).get("spec", {})
        wanted = []
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                wanted.append(("ConfigMap", volume["configMap"]["name"]))
            if "secret" in volume:
                wanted.append(("Secret", volume["secret"]["secretName"]))
            if "persistentVolumeClaim" in volume:
                wanted.append(
                    ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
                )
        for c in pod_containers(doc):
            for env in c.get("env", []):
                ref = env.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    wanted.append(("Secret", ref["secretKeyRef"]["name"]))
                if "configMapKeyRef" in ref:
                    wanted.append(("ConfigMap", ref["configMapKeyRef"]["name"]))
        for kind, name in wanted:
            if (kind, name) not in defined and name not in operator:
                fail(
                    f"{doc['metadata']['name']}: {kind} {name} is neither defined in"
                    " deploy/k8s nor listed as the operator's in deploy/README.md"
                )


def report() -> None:
    for message in errors:
        print(f"FAIL {message}")
    print("deploy/: all checks passed" if not errors else f"deploy/: {len(errors)} problem(s)")
    sys.exit(1 if errors else 0)


SERIES = re.compile(r"\bprepaid_[a-z_]+")
SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


def check_dashboards() -> None:
    """A dashboard's query naming a series no code defines would show an empty panel."""
    code = code_text()
    for path in sorted((DEPLOY / "grafana").glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel.get("targets", ()):
                for name in SERIES.findall(target["expr"]):
                    for suffix in SUFFIXES:
                        name = name.removesuffix(suffix)
                    if f'"{name}' not in code:
                        fail(f"{path.relative_to(ROOT)}: {panel['title']!r} queries {name}")


def main() -> None:
    compose, manifests = load_all()
    check_copies()
    check_commands(compose, manifests)
    check_env(compose, manifests)
    check_references(manifests)
    check_dashboards()
    for problem in kubernetes_problems(manifests) + compose_problems(compose):
        fail(problem)
    report()


if __name__ == "__main__":
    main()
