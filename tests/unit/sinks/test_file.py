"""FileSink: rotation that loses nothing, appends, torn tails, and its argument checks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import fapilog
from fapilog.sinks import FileSink


def _read_all(path: Path, backups: int) -> list[dict[str, object]]:
    records = []
    for candidate in [path.with_name(f"{path.name}.{i}") for i in range(backups, 0, -1)] + [path]:
        if candidate.exists():
            records += [json.loads(line) for line in candidate.read_text().splitlines()]
    return records


def test_file_rotation_keeps_every_line_valid_and_in_order(tmp_path: Path) -> None:
    """Rotation splits only between batches: all files hold valid lines, none lost or repeated."""
    path = tmp_path / "logs" / "app.log"
    sink = FileSink(path, max_bytes=20_000, backup_count=50)
    fapilog.configure_logging(sinks=(sink,), queue_batch_size=16, queue_overflow="block")
    for i in range(2_000):
        fapilog.log.info("rotating", i=i, pad="x" * 20)
    final = fapilog.shutdown()
    assert final.delivered == 2_000
    assert sink.rotations > 5
    records = _read_all(path, 50)
    assert [r["i"] for r in records] == list(range(2_000))
    for candidate in path.parent.iterdir():
        assert candidate.stat().st_size <= 20_000


def test_file_rotation_drops_the_oldest_backup(tmp_path: Path) -> None:
    """With backup_count=2 only app.log, app.log.1 and app.log.2 exist (and the rotation lock)."""
    path = tmp_path / "app.log"
    sink = FileSink(path, max_bytes=100, backup_count=2)
    for i in range(10):
        sink.write([json.dumps({"i": i, "pad": "y" * 60}).encode() + b"\n"])
    sink.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "app.log",
        "app.log.1",
        "app.log.2",
        "app.log.lock",
    ]
    assert [r["i"] for r in _read_all(path, 2)] == [7, 8, 9]


def test_file_sink_appends_to_an_existing_file(tmp_path: Path) -> None:
    """Reopening a log file appends; rotation accounts for the bytes already there."""
    path = tmp_path / "app.log"
    path.write_bytes(b'{"old":true}\n')
    sink = FileSink(path)
    sink.write([b'{"new":true}\n'])
    sink.close()
    assert path.read_bytes() == b'{"old":true}\n{"new":true}\n'


def test_file_sink_cuts_a_torn_tail_it_just_wrote(tmp_path: Path) -> None:
    """A partial line left at the end of the file by a failed write is truncated away."""
    path = tmp_path / "app.log"
    sink = FileSink(path)
    sink.write([b'{"n":1}\n'])
    os.write(sink._fd, b'{"n":2,"torn')  # what a write cut short by a full disk leaves
    sink._cut_torn_tail(len(b'{"n":2,"torn'))
    sink.write([b'{"n":3}\n'])
    sink.close()
    assert path.read_bytes() == b'{"n":1}\n{"n":3}\n'


def test_file_sink_blanks_a_torn_tail_when_another_writer_appended(tmp_path: Path) -> None:
    """When another process appended after the torn bytes, they cannot be truncated: they are
    overwritten with spaces, so the other writer's line stays valid JSON and nothing is lost."""
    path = tmp_path / "app.log"
    sink = FileSink(path)
    torn = b'{"n":2,"to'
    os.write(sink._fd, torn)
    other = os.open(path, os.O_WRONLY | os.O_APPEND)
    os.write(other, b'{"other":1}\n')
    os.close(other)
    sink._cut_torn_tail(len(torn))
    sink.write([b'{"n":3}\n'])
    sink.close()
    lines = path.read_bytes().splitlines()
    assert [json.loads(line) for line in lines] == [{"other": 1}, {"n": 3}]
    assert lines[0] == b" " * len(torn) + b'{"other":1}'


def test_file_sink_without_backups_empties_the_file_on_rotation(tmp_path: Path) -> None:
    """backup_count=0: rotation starts the same file afresh and creates no backup."""
    path = tmp_path / "app.log"
    sink = FileSink(path, max_bytes=30, backup_count=0)
    for n in range(4):
        sink.write([b'{"n":%d,"pad":"xxxxxx"}\n' % n])
    sink.close()
    assert sink.rotations == 3
    assert path.read_bytes() == b'{"n":3,"pad":"xxxxxx"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.log", "app.log.lock"]


def test_file_sink_fills_a_gap_in_the_backups_instead_of_dropping_the_oldest(
    tmp_path: Path,
) -> None:
    """A missing app.log.2 (a shift that stopped half-way) is reused: the next rotation moves
    only app.log.1 up, and app.log.3 (the oldest) is kept."""
    path = tmp_path / "app.log"
    for index, body in ((1, b'{"b":1}\n'), (3, b'{"b":3}\n')):
        path.with_name(f"app.log.{index}").write_bytes(body)
    sink = FileSink(path, max_bytes=10, backup_count=3)
    sink.write([b'{"n":1,"x":1}\n'])
    sink.write([b'{"n":2,"x":2}\n'])
    sink.close()
    assert path.with_name("app.log.3").read_bytes() == b'{"b":3}\n'
    assert path.with_name("app.log.2").read_bytes() == b'{"b":1}\n'
    assert path.with_name("app.log.1").read_bytes() == b'{"n":1,"x":1}\n'
    assert path.read_bytes() == b'{"n":2,"x":2}\n'


def test_file_sink_rejects_bad_arguments(tmp_path: Path) -> None:
    """max_bytes and backup_count must be integers >= 0; the error names the argument."""
    with pytest.raises(ValueError, match="FileSink max_bytes: -1"):
        FileSink(tmp_path / "a.log", max_bytes=-1)
    with pytest.raises(ValueError, match=r"FileSink backup_count: 1\.5"):
        FileSink(tmp_path / "a.log", backup_count=1.5)  # type: ignore[arg-type]
