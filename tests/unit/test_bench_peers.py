"""bench/bench_peers.py's parent side: round order, medians, ratios, the table, the pyperf file.

Pure functions on made-up samples: they pin the arithmetic and the layout, never a speed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pyperf = pytest.importorskip("pyperf")

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH_DIR))

import bench_peers  # noqa: E402
from bench_peers import Sample  # noqa: E402

US = 1e-6


def _samples() -> list[Sample]:
    cpu = {"fapilog": [2.0, 3.0, 2.5], "stdlib": [40.0, 30.0, 50.0], "structlog": [10.0, 12.0, 5.0]}
    samples = [
        Sample(lib, "cpu", r, {"cpu_s_per_event": v * US, "wall_s": 1.0})
        for lib, values in cpu.items()
        for r, v in enumerate(values)
    ]
    samples += [
        Sample(
            lib,
            "enqueue",
            0,
            {
                "mean_s": mean * US,
                "p99_s": 4 * mean * US,
                "p99_9_s": 9 * mean * US,
                "cpu_s_per_event": 3 * mean * US,
            },
        )
        for lib, mean in (("fapilog", 1.0), ("stdlib", 20.0), ("structlog", 8.0))
    ]
    return samples


def test_rounds_rotate_the_order_of_the_libraries() -> None:
    """Each round starts with the next library, so none is always first (or last)."""
    libs = ["fapilog", "stdlib", "structlog"]
    assert bench_peers.rotated(libs, 0) == libs
    assert bench_peers.rotated(libs, 1) == ["stdlib", "structlog", "fapilog"]
    assert bench_peers.rotated(libs, 3) == libs
    assert bench_peers.rotated([], 2) == []


def test_medians_are_per_library_and_workload() -> None:
    """The median over rounds of every figure, kept apart per (library, workload)."""
    figures = bench_peers.medians(_samples())
    assert figures[("fapilog", "cpu")]["cpu_s_per_event"] == pytest.approx(2.5 * US)
    assert figures[("stdlib", "cpu")]["cpu_s_per_event"] == pytest.approx(40.0 * US)
    assert figures[("structlog", "cpu")]["cpu_s_per_event"] == pytest.approx(10.0 * US)
    assert figures[("stdlib", "enqueue")]["p99_s"] == pytest.approx(80.0 * US)
    assert set(figures) == {
        (lib, w) for lib in ("fapilog", "stdlib", "structlog") for w in ("cpu", "enqueue")
    }


def test_ratio_is_ours_over_theirs_and_none_when_missing() -> None:
    """fapilog ÷ peer; no ratio when either figure is missing or the peer's is zero."""
    assert bench_peers.ratio(2.0, 8.0) == 0.25
    assert bench_peers.ratio(None, 8.0) is None
    assert bench_peers.ratio(2.0, None) is None
    assert bench_peers.ratio(2.0, 0.0) is None


def test_markdown_table_has_medians_in_microseconds_and_ratios() -> None:
    """One row per library in the given order, values in µs, each peer's value followed by
    fapilog ÷ that peer in brackets; a figure nobody measured is n/a."""
    figures = bench_peers.medians(_samples())
    del figures[("structlog", "enqueue")]
    table = bench_peers.markdown_table(figures, ["fapilog", "stdlib", "structlog"], "fapilog")
    lines = table.splitlines()
    assert lines[0].startswith("| library | CPU/event, end to end | enqueue mean |")
    assert lines[1] == "| --- | --- | --- | --- | --- |"
    assert lines[2] == "| fapilog | 2.50 µs | 1.00 µs | 4.00 µs | 3.00 µs |"
    assert lines[3] == (
        "| stdlib | 40.00 µs (0.06) | 20.00 µs (0.05) | 80.00 µs (0.05) | 60.00 µs (0.05) |"
    )
    assert lines[4] == "| structlog | 10.00 µs (0.25) | n/a | n/a | n/a |"
    assert len(lines) == 5


def test_pyperf_suite_has_one_benchmark_per_library_and_workload(tmp_path: Path) -> None:
    """The pyperf file holds peers.cpu[lib=…] (CPU seconds per event) and peers.enqueue[lib=…]
    (mean latency in seconds), one value per round, with the other figures as metadata; it
    loads back with pyperf."""
    suite = bench_peers.pyperf_suite(_samples(), {"fapilog_version": "x", "events": 10})
    path = tmp_path / "peers.json"
    suite.dump(str(path))
    loaded = pyperf.BenchmarkSuite.load(str(path))
    names = set(loaded.get_benchmark_names())
    assert names == {
        f"peers.{w}[lib={lib}]"
        for lib in ("fapilog", "stdlib", "structlog")
        for w in ("cpu", "enqueue")
    }
    cpu = loaded.get_benchmark("peers.cpu[lib=stdlib]")
    assert sorted(cpu.get_values()) == pytest.approx([30 * US, 40 * US, 50 * US])
    assert cpu.get_metadata()["library"] == "stdlib"
    assert cpu.get_metadata()["events"] == 10
    enqueue = loaded.get_benchmark("peers.enqueue[lib=fapilog]")
    assert enqueue.get_values() == pytest.approx((1 * US,))
    assert enqueue.get_runs()[0].get_metadata()["peer_p99_s"] == pytest.approx(4 * US)


@pytest.mark.parametrize(
    "argv",
    [["--libs", "stdlib,nope"], ["--rounds", "0"], ["--libs", "stdlib"], ["--rate", "x"]],
)
def test_bad_options_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """A bad option exits 2 naming the option and what is accepted (fapilog must be in --libs:
    the table is fapilog ÷ each peer)."""
    with pytest.raises(SystemExit) as exc:
        bench_peers.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert argv[0] in err or argv[1] in err


def test_existing_output_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An existing --output file is never overwritten unless --replace is given."""
    out = tmp_path / "peers.json"
    out.write_text("{}", encoding="utf-8")
    with pytest.raises(SystemExit):
        bench_peers.main(["-o", str(out)])
    assert "already exists" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "{}"
