"""The package layout is a rule, not a wish: imports point one way, and the metrics core does no I/O.

``data.metrics`` (tables, calculators) ← ``data.sources`` (outside systems) and ``data.store`` (safe files),
which never import each other ← ``data.services`` (the only place combining them) ← ``callbacks``, ``cli.py``
and ``ui`` (layout only). ``configuration`` sits below ``data`` and reaches the disk only through the safe
JSON store. See docs/architecture.md.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ["app.py", "cli.py", "cli_parser.py", "callbacks", "configuration", "data", "ui"]

# importer prefix -> module prefixes it must not import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "data.metrics": ("data.store", "data.sources", "data.services", "configuration.settings",
                     "configuration.paths", "configuration.secrets", "configuration.logging_config",
                     "dash", "requests", "filelock", "ui", "callbacks"),
    "data.sources": ("data.store", "data.services", "dash", "ui", "callbacks"),
    "data.store": ("data.sources", "data.services", "dash", "ui", "callbacks"),
    "data.services": ("dash", "ui", "callbacks"),
    "configuration": ("data.metrics", "data.sources", "data.services", "data.store.issue_cache",
                      "data.store.metrics_cache", "data.store.metrics_snapshots", "dash", "ui", "callbacks"),
    "ui": ("data.store", "data.sources", "callbacks"),
    "callbacks": ("data.store", "data.sources"),
    "cli": ("data.store", "data.sources", "ui", "callbacks"),
    "cli_parser": ("data.store", "data.sources", "data.metrics", "ui", "callbacks"),
}

# Calls that read the clock or touch files; none may appear in data.metrics.
IMPURE_CALLS = frozenset({"now", "utcnow", "today", "time", "monotonic", "perf_counter", "open", "read_text",
                          "read_bytes", "write_text", "write_bytes", "unlink", "mkdir", "remove", "replace_file",
                          "getenv", "urandom", "sleep"})


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def product_files() -> list[Path]:
    files: list[Path] = []
    for entry in PRODUCT:
        target = ROOT / entry
        files += [target] if target.is_file() else sorted(target.rglob("*.py"))
    return files


def imported_modules(source: str, importer: str) -> set[str]:
    """Every module ``source`` imports, at any depth (function-level imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importer's package
                base = importer.split(".")[:-node.level]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def violations(importer: str, source: str) -> list[str]:
    problems = []
    for prefix, banned in FORBIDDEN.items():
        if importer != prefix and not importer.startswith(prefix + "."):
            continue
        for module in sorted(imported_modules(source, importer)):
            if any(module == ban or module.startswith(ban + ".") for ban in banned):
                problems.append(f"{importer} imports {module}")
    return problems


def test_the_rule_checker_catches_a_breach() -> None:
    # The checker itself must be able to fail: known-bad sources are flagged, a good one is not.
    assert violations("data.metrics.flow_calculator", "from data.store.issue_cache import load_cached_issues")
    assert violations("data.metrics.x", "def f():\n    import data.sources.jira_client\n")
    assert violations("ui.page", "from data.store import json_store")
    assert violations("data.store.issue_cache", "from data.sources.base import UpdateError")
    assert violations("data.sources.demo_source", "from data.store.issue_cache import DEMO_JQL")
    assert not violations("data.services.dashboard_service", "from data.store.issue_cache import load_fetch_meta")


def test_imports_point_one_way() -> None:
    problems = [p for path in product_files() for p in violations(module_name(path), path.read_text())]
    assert problems == []


def test_data_is_four_packages() -> None:
    data = ROOT / "data"
    assert sorted(p.name for p in data.iterdir() if p.is_dir() and p.name != "__pycache__") == [
        "metrics", "services", "sources", "store"]
    assert [p.name for p in data.glob("*.py")] == ["__init__.py"]


def test_no_product_module_is_over_500_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in product_files() if (n := len(p.read_text().splitlines())) > 500}
    assert long == {}


def impure_calls(source: str) -> list[str]:
    calls = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if name in IMPURE_CALLS:
                calls.append(f"{name}() at line {node.lineno}")
    return calls


def test_the_purity_scan_catches_a_clock_read() -> None:
    assert impure_calls("from datetime import datetime\nx = datetime.now()\n")
    assert impure_calls("def f(p):\n    return open(p).read()\n")
    assert not impure_calls("def f(now):\n    return now.date()\n")


def test_the_metrics_core_reads_no_clock_and_no_file() -> None:
    found = {str(p.relative_to(ROOT)): calls for p in sorted((ROOT / "data" / "metrics").glob("*.py"))
             if (calls := impure_calls(p.read_text()))}
    assert found == {}


_BLOCKED_IMPORT = """
import importlib, importlib.abc, pkgutil, sys
import numpy, pandas  # the core's own libraries load first
BLOCKED = ("data.store", "data.sources", "data.services", "configuration.settings", "configuration.paths",
           "configuration.secrets", "configuration.logging_config", "requests", "urllib3", "filelock",
           "dash", "flask", "socket", "sqlite3", "diskcache")
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ImportError(f"blocked I/O module {name}")
        return None
for name in list(sys.modules):
    if any(name == b or name.startswith(b + ".") for b in BLOCKED):
        del sys.modules[name]
sys.meta_path.insert(0, Block())
import data.metrics
names = sorted(m.name for m in pkgutil.iter_modules(data.metrics.__path__))
for name in names:
    importlib.import_module("data.metrics." + name)
print(len(names))
"""


def test_every_metrics_module_imports_with_io_modules_blocked() -> None:
    # A fresh interpreter where importing any I/O module (files, network, the store, the sources) raises.
    result = subprocess.run([sys.executable, "-c", _BLOCKED_IMPORT], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) == len(list((ROOT / "data" / "metrics").glob("[!_]*.py")))


@pytest.mark.parametrize("blocked", ["data.store", "requests"])
def test_the_blocker_really_blocks(blocked: str) -> None:
    # The same harness must fail when a blocked module is imported, or the test above proves nothing.
    script = _BLOCKED_IMPORT.replace("import data.metrics\n", f"import {blocked}\nimport data.metrics\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "blocked I/O module" in result.stderr
