"""The project's tooling has one source of truth: pyproject.toml.

The supported Pythons are its ``Programming Language :: Python :: 3.X`` classifiers (the noxfile,
``requires-python``, ruff's and mypy's targets and the workflows' matrices agree with them); the
coverage gate is its ``fail_under``; pytest turns warnings into errors; the pre-commit hooks are
local and pin the same ruff as the lint extra.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def _classifier_pythons() -> list[str]:
    """The 3.X versions of the classifiers, read here independently of the noxfile."""
    prefix = "Programming Language :: Python :: "
    return [
        c.removeprefix(prefix)
        for c in _pyproject()["project"]["classifiers"]
        if c.startswith(prefix) and re.fullmatch(r"3\.\d+", c.removeprefix(prefix))
    ]


def _load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_classifiers_are_consecutive_and_start_at_requires_python() -> None:
    """The classifiers name consecutive minor versions, oldest first; ``requires-python`` is
    ``>=`` the oldest, and ruff's and mypy's target versions are that oldest one too."""
    versions = _classifier_pythons()
    assert versions, "no 'Programming Language :: Python :: 3.X' classifier"
    minors = [int(v.split(".")[1]) for v in versions]
    assert minors == list(range(minors[0], minors[0] + len(minors))), versions
    oldest = versions[0]
    config = _pyproject()
    assert config["project"]["requires-python"] == f">={oldest}"
    assert config["tool"]["ruff"]["target-version"] == "py" + oldest.replace(".", "")
    assert config["tool"]["mypy"]["python_version"] == oldest


def test_noxfile_matrix_is_the_classifiers() -> None:
    """noxfile.PYTHONS (the tests, bench and bench_peers sessions) is read from the classifiers,
    not written a second time."""
    sys.path.insert(0, str(ROOT))
    try:
        import noxfile
    finally:
        sys.path.remove(str(ROOT))
    assert _classifier_pythons() == noxfile.PYTHONS


def test_workflow_matrices_are_the_classifiers() -> None:
    """Every ``matrix.python`` of .github/workflows/*.yml lists exactly the supported Pythons (CI
    tests and benchmarks each of them), and every literal ``python-version`` is one of them."""
    supported = _classifier_pythons()
    matrices: dict[str, list[str]] = {}
    literals: dict[str, str] = {}
    for path in WORKFLOWS:
        for job_id, job in _load_yaml(path)["jobs"].items():
            where = f"{path.name}:{job_id}"
            matrix = job.get("strategy", {}).get("matrix", {})
            if "python" in matrix:
                matrices[where] = [str(v) for v in matrix["python"]]
            for step in job.get("steps", []):
                version = (step.get("with") or {}).get("python-version")
                if isinstance(version, str) and "${{" not in version:
                    literals[where] = version
    assert "ci.yml:tests" in matrices, f"the tests job's matrix was not found: {sorted(matrices)}"
    assert matrices == dict.fromkeys(matrices, supported)
    assert {where: v for where, v in literals.items() if v not in supported} == {}


def test_pre_commit_hooks_are_local_and_pin_the_lint_extras_ruff() -> None:
    """.pre-commit-config.yaml fetches nothing from a git host (CI reaches only package
    registries): every hook is local, and each ruff hook installs ``ruff==X`` where X is the
    version the lint extra pins, so the hooks and ``.venv/bin/ruff`` format alike."""
    config = _load_yaml(ROOT / ".pre-commit-config.yaml")
    assert [repo["repo"] for repo in config["repos"]] == ["local"] * len(config["repos"])
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff", "ruff-format"} <= set(hooks)
    lint_pins = [d for d in _pyproject()["project"]["optional-dependencies"]["lint"] if "ruff" in d]
    assert len(lint_pins) == 1 and lint_pins[0].startswith("ruff=="), lint_pins
    for hook_id in ("ruff", "ruff-format"):
        assert hooks[hook_id]["language"] == "python"
        assert hooks[hook_id]["additional_dependencies"] == lint_pins, hook_id


def _pytest_with_project_config(
    tmp_path: Path, body: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run pytest on a one-test file with this project's pyproject.toml as its configuration."""
    test_file = tmp_path / "test_probe.py"
    test_file.write_text(body, encoding="utf-8")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(ROOT / "pyproject.toml"),
            "-p",
            "no:cacheprovider",
            "-q",
            *args,
            str(test_file),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=ROOT,  # coverage reads [tool.coverage.*] from the pyproject.toml here
        env={**os.environ, "COVERAGE_FILE": str(tmp_path / ".coverage")},
    )


@pytest.mark.timeout(240)
def test_coverage_gate_applies_with_cov_and_not_to_one_file_without_it(tmp_path: Path) -> None:
    """With ``--cov`` (as ``nox -s tests`` and ``make test`` run it) pytest fails a run whose
    coverage is under pyproject's ``fail_under``, with no ``--cov-fail-under`` flag; the same
    passing test without ``--cov`` (a developer running one file) passes."""
    body = "import fapilog\n\n\ndef test_import() -> None:\n    assert fapilog.get_logger\n"
    gated = _pytest_with_project_config(tmp_path, body, "--cov=fapilog", "--cov-report=")
    assert gated.returncode == 1, gated.stdout + gated.stderr
    fail_under = _pyproject()["tool"]["coverage"]["report"]["fail_under"]
    required = re.search(r"Required test coverage of ([\d.]+)% not reached", gated.stdout)
    assert required is not None, gated.stdout
    assert float(required[1]) == fail_under
    plain = _pytest_with_project_config(tmp_path, body)
    assert plain.returncode == 0, plain.stdout + plain.stderr


@pytest.mark.timeout(120)
def test_a_warning_fails_the_test(tmp_path: Path) -> None:
    """Under the project's pytest configuration a warning raised in a test is an error."""
    body = (
        "import warnings\n\n\n"
        "def test_warns() -> None:\n"
        "    warnings.warn('probe', UserWarning, stacklevel=1)\n"
    )
    proc = _pytest_with_project_config(tmp_path, body)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "UserWarning: probe" in proc.stdout, proc.stdout
