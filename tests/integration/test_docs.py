"""README.md, CONTRIBUTING.md and docs/: the README fits its first screens, links resolve, every
page is in the MkDocs nav, the glossary defines the decided names, and a broken link fails the
strict build."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"

#: The two commands a newcomer runs first; .ci/run runs both.
FIRST_SCREEN_COMMANDS = ("python3 scripts/load_test_log_queue.py", "make test")
#: How many lines count as the first screen, and the most the README may have.
FIRST_SCREEN_LINES = 25
MAX_README_LINES = 200

_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _code_lines(lines: list[str]) -> list[str]:
    """The lines inside fenced code blocks."""
    inside, code = False, []
    for line in lines:
        if line.startswith("```"):
            inside = not inside
        elif inside:
            code.append(line)
    return code


def _relative_links(path: Path) -> list[str]:
    return [
        target
        for target in _LINK.findall(path.read_text(encoding="utf-8"))
        if not re.match(r"[a-z]+:", target) and not target.startswith("#")
    ]


def test_readme_fits_its_first_screens() -> None:
    """The README is at most 200 lines: the manuals live in docs/."""
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines"


@pytest.mark.parametrize("command", FIRST_SCREEN_COMMANDS)
def test_readme_first_screen_shows_the_command(command: str) -> None:
    """The load test and the tests are runnable commands, each on its own code line, within the
    README's first 25 lines."""
    first_screen = README.read_text(encoding="utf-8").splitlines()[:FIRST_SCREEN_LINES]
    commands = [line.split("#", 1)[0].strip() for line in _code_lines(first_screen)]
    assert command in commands, commands


@pytest.mark.parametrize("document", ["README.md", "CONTRIBUTING.md"])
def test_relative_links_point_to_files(document: str) -> None:
    """Every relative link of the README and CONTRIBUTING names a file of the repository (they
    are read on GitHub, outside the MkDocs build that checks docs/)."""
    links = _relative_links(ROOT / document)
    assert links, f"{document} links nowhere"
    missing = [link for link in links if not (ROOT / link.split("#", 1)[0]).exists()]
    assert not missing, missing


def test_every_docs_page_is_in_the_nav() -> None:
    """Each docs/*.md page is listed in mkdocs.yml's nav, and the nav lists no missing page."""
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = set(re.findall(r"^\s+- [^:\n]+: (\S+\.md)\s*$", config, flags=re.MULTILINE))
    pages = {path.name for path in DOCS.glob("*.md")}
    assert nav == pages, (sorted(pages - nav), sorted(nav - pages))


@pytest.mark.parametrize(
    "term",
    [
        "event",
        "record",
        "line",
        "call",
        "attempted",
        "enqueued",
        "dropped",
        "sampled out",
        "delivered",
        "failed",
        "lost",
        "batch",
        "slot, room",
        "block wait",
        "high water",
        "peak",
        "rate",
        "total rate",
        "concurrency",
    ],
)
def test_glossary_defines_each_decided_name(term: str) -> None:
    """docs/glossary.md has a heading for each word the project decided to use one way."""
    headings = re.findall(r"^### (.+)$", (DOCS / "glossary.md").read_text(encoding="utf-8"), re.M)
    assert term in headings, headings


def _mkdocs_build(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=root,
    )


@pytest.mark.timeout(240)
def test_strict_build_passes_and_a_broken_link_fails_it(tmp_path: Path) -> None:
    """`mkdocs build --strict` builds docs/ as committed, and fails on a copy with a link to a
    page that does not exist and an anchor that does not exist (needs the docs extra)."""
    pytest.importorskip("mkdocs")
    good, bad = tmp_path / "good", tmp_path / "bad"
    for copy in (good, bad):
        shutil.copytree(DOCS, copy / "docs")
        shutil.copy(ROOT / "mkdocs.yml", copy / "mkdocs.yml")
    built = _mkdocs_build(good)
    assert built.returncode == 0, built.stderr
    assert (good / "site" / "glossary" / "index.html").exists()

    page = bad / "docs" / "lifecycle.md"
    page.write_text(
        page.read_text(encoding="utf-8") + "\n[gone](gone.md), [no anchor](settings.md#nowhere)\n",
        encoding="utf-8",
    )
    broken = _mkdocs_build(bad)
    assert broken.returncode != 0
    assert "gone.md" in broken.stderr and "#nowhere" in broken.stderr, broken.stderr


def test_the_layout_page_shows_the_import_layers_pinned_in_pyproject() -> None:
    """docs/layout.md lists the import-linter layers exactly as [tool.importlinter] pins them,
    top to bottom, so the page cannot drift from the contract `nox -s lint` checks."""
    import tomllib

    contract = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c["layers"] for c in contract["contracts"] if c["type"] == "layers"]
    page = (DOCS / "layout.md").read_text()
    block = re.search(r"## Import layers.*?```text\n(.*?)```", page, re.S)
    assert block is not None, "docs/layout.md has no ```text block under 'Import layers'"
    assert block.group(1).splitlines() == layers
