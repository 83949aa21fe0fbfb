"""The error codes the gateway and the services can answer, collected from their source, so the
pages' Chinese messages (static/js/messages.js) can be checked against every one of them.

What is collected, by reading the syntax tree of every module under services/:
* `ApiError(status, "code", ...)` and `error_response(status, "code", ...)` calls (the
  gateway's own refusals, its body and rate limits);
* calls of a `DomainError` subclass with a literal code, positional (second) or `code=`;
* the `code = "..."` class attributes of the DomainError subclasses (their default codes);
* the `(status, "code")` values of the gateway's REMOTE_ERRORS table;
plus the codes Flask and werkzeug answer by themselves through errors.py (an unknown route, a
wrong method, a body too large, an unreadable body). A code built at run time from a variable
is not seen; messages.js falls back on a message by HTTP status for any code it lacks.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WERKZEUG_CODES = frozenset(
    {"bad_request", "not_found", "method_not_allowed", "request_entity_too_large"}
)


def _domain_error_classes(trees: list[ast.Module]) -> set[str]:
    """DomainError and every class deriving from it, by name, to a fixed point."""
    known = {"DomainError"}
    changed = True
    while changed:
        changed = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in known:
                    bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                    if bases & known:
                        known.add(node.name)
                        changed = True
    return known


def _literal(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _called(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def answerable_error_codes() -> set[str]:
    trees = [ast.parse(p.read_text()) for p in sorted((ROOT / "services").rglob("*.py"))]
    domain_errors = _domain_error_classes(trees)
    codes: set[str] = set(WERKZEUG_CODES)
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = _called(node)
                if name in ("ApiError", "error_response") and len(node.args) >= 2:
                    codes.add(_literal(node.args[1]) or "")
                elif name in domain_errors:
                    code = node.args[1] if len(node.args) >= 2 else None
                    for keyword in node.keywords:
                        if keyword.arg == "code":
                            code = keyword.value
                    codes.add(_literal(code) or "")
            elif isinstance(node, ast.ClassDef) and node.name in domain_errors:
                for statement in node.body:
                    if isinstance(statement, ast.Assign) and [
                        getattr(t, "id", "") for t in statement.targets
                    ] == ["code"]:
                        codes.add(_literal(statement.value) or "")
            elif isinstance(node, ast.Assign) and any(
                getattr(t, "id", "") == "REMOTE_ERRORS" for t in node.targets
            ):
                for value in getattr(node.value, "values", []):
                    if isinstance(value, ast.Tuple) and len(value.elts) == 2:
                        codes.add(_literal(value.elts[1]) or "")
    codes.discard("")
    return codes
