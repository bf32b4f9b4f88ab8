"""noxfile.py: the sessions the project documents exist, and bench output never overwrites."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

pytest.importorskip("nox")

ROOT = Path(__file__).resolve().parents[2]
# The supported Pythons: pyproject.toml's classifiers (the noxfile reads the same ones).
with (ROOT / "pyproject.toml").open("rb") as _f:
    PYTHONS = tuple(
        m[1]
        for c in tomllib.load(_f)["project"]["classifiers"]
        if (m := re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", c))
    )


@pytest.mark.timeout(60)
def test_nox_lists_every_session() -> None:
    """`nox -l` lists tests, bench and bench_peers for every matrix Python, and lint,
    bench_compare, loadtest, workflows and docs."""
    proc = subprocess.run(
        [sys.executable, "-m", "nox", "-l", "-f", str(ROOT / "noxfile.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    # "* name -> doc" for default sessions, "- name -> doc" for the others.
    names = {
        line[2:].split(" -> ")[0].strip()
        for line in proc.stdout.splitlines()
        if line[:2] in ("* ", "- ")
    }
    assert PYTHONS
    expected = {f"{name}-{py}" for name in ("tests", "bench", "bench_peers") for py in PYTHONS}
    expected |= {"lint", "bench_compare", "loadtest", "workflows", "docs"}
    assert expected <= names, sorted(expected - names)


def test_bench_output_name_is_new_and_never_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bench session names its output by Python and UTC time, under BENCH_OUT_DIR, and
    refuses a name that already exists instead of overwriting it."""
    sys.path.insert(0, str(ROOT))
    try:
        import noxfile
    finally:
        sys.path.remove(str(ROOT))
    monkeypatch.setenv("BENCH_OUT_DIR", str(tmp_path / "out"))
    monkeypatch.setattr(time, "strftime", lambda *_: "20260101T000000Z")
    first = noxfile._bench_output("3.12")
    assert first == tmp_path / "out" / "bench-3.12-20260101T000000Z.json"
    first.write_text("{}", encoding="utf-8")
    with pytest.raises(SystemExit, match="already exists"):
        noxfile._bench_output("3.12")
