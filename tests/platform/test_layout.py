"""Test helpers live in tests/support: a bench or a test never imports a test module.

A benchmark that imports a test module runs that module's import-time code and breaks when a
test is renamed; a test that imports another test file couples two unrelated suites. Helpers
shared across folders live in tests/support; fixtures reach tests through conftest.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.harness import ROOT


def imported_test_modules(path: Path) -> list[str]:
    """The `tests.…` modules `path` imports, wherever in the file the import is."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [name for name in names if name == "tests" or name.startswith("tests.")]
    return found


def refused(importer: Path, module: str) -> str | None:
    """Why `importer` may not import `module`, or None if it may."""
    parts = module.split(".")
    if parts[:2] == ["tests", "support"]:
        return None
    if importer.parts[0] == "bench":
        return "bench/ imports only tests.support"
    last = parts[-1]
    if last.startswith("test_") or last == "conftest":
        return "a test module or conftest is never imported (fixtures come through conftest)"
    if len(parts) < 3 or importer.parts[:2] != ("tests", parts[1]):
        return "a helper shared across test folders belongs in tests/support"
    return None  # a helper of the importer's own folder, e.g. tests/eventstore/conformance.py


def violations(root: Path) -> list[str]:
    found = []
    for folder in ("bench", "tests"):
        for path in sorted((root / folder).rglob("*.py")):
            relative = path.relative_to(root)
            for module in imported_test_modules(path):
                if reason := refused(relative, module):
                    found.append(f"{relative} imports {module}: {reason}")
    return sorted(found)


def test_benches_and_tests_import_helpers_only_from_tests_support():
    assert violations(ROOT) == []


def test_the_rule_catches_each_kind_of_import(tmp_path):
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "b.py").write_text(
        "from tests.support.harness import stop\nfrom tests.merchant.helpers import x\n"
    )
    (tmp_path / "tests" / "escrow").mkdir(parents=True)
    (tmp_path / "tests" / "escrow" / "test_a.py").write_text(
        "import tests.merchant.test_merchant_api\n"
        "def f():\n    from tests.conftest import thing\n"
        "from tests.escrow.fakes import Products\n"
        "from tests.gateway.fakes import Wechat\n"
    )
    assert violations(tmp_path) == sorted(
        [
            "bench/b.py imports tests.merchant.helpers: bench/ imports only tests.support",
            "tests/escrow/test_a.py imports tests.merchant.test_merchant_api: a test module or"
            " conftest is never imported (fixtures come through conftest)",
            "tests/escrow/test_a.py imports tests.conftest: a test module or conftest is never"
            " imported (fixtures come through conftest)",
            "tests/escrow/test_a.py imports tests.gateway.fakes: a helper shared across test"
            " folders belongs in tests/support",
        ]
    )
