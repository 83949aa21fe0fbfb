"""The deployment files as deploy/check.py reads them, and its replicated-shape checks
(deploy/check_replicas.py, a script's sibling rather than a package module)."""

from __future__ import annotations

import copy
import importlib.util
from types import ModuleType

import yaml

from tests.support.harness import ROOT

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"


def check_replicas() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_replicas", DEPLOY / "check_replicas.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def manifests() -> list[dict]:
    """A fresh copy of every document the kustomization lists."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return [
        doc
        for name in kustomization["resources"]
        for doc in yaml.safe_load_all((K8S / name).read_text())
        if doc
    ]


def compose() -> dict:
    return copy.deepcopy(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


def find(docs: list[dict], kind: str, name: str) -> dict:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)
