"""``fapilog.loadtest`` as a package: its public names and what it may import."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import fapilog.loadtest

PACKAGE_DIR = Path(fapilog.loadtest.__file__).parent
SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "load_test_log_queue.py"


def test_public_names_are_exactly_these() -> None:
    """The surface the benchmark matrix builds on, and nothing more."""
    assert fapilog.loadtest.__all__ == [
        "RELATIVE_ERROR",
        "SCHEMA",
        "LatencyHistogram",
        "PacedWindow",
        "Pacer",
        "main",
        "paced_window",
    ]
    for name in fapilog.loadtest.__all__:
        assert hasattr(fapilog.loadtest, name)


def imported_top_level_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_imports_only_the_standard_library_and_fapilog() -> None:
    """The load test must run from a fresh checkout with only Python: stdlib and fapilog only."""
    files = [*PACKAGE_DIR.glob("*.py"), SCRIPT]
    assert len(files) >= 8
    for path in files:
        foreign = {
            name
            for name in imported_top_level_modules(path)
            if name != "fapilog" and name not in sys.stdlib_module_names
        }
        assert not foreign, f"{path.name} imports {sorted(foreign)}"


def test_console_entry_point_is_main() -> None:
    """fapilog-loadtest = fapilog.loadtest:main returns an exit status for sys.exit."""
    assert fapilog.loadtest.main.__module__ == "fapilog.loadtest._main"
