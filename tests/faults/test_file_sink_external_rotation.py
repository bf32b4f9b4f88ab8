"""Item 3 of issue 8: the file sink follows external rotation (logrotate and operators)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import fapilog
from tests.faults._logfiles import read_records


def _log(event: str, count: int) -> None:
    for i in range(count):
        assert fapilog.log.info(event, i=i)
    assert fapilog.flush(timeout=10)


def _events(path: Path) -> list[tuple[str, int]]:
    return [(r["event"], r["i"]) for r in read_records(path, backups=False)]


@pytest.mark.timeout(30)
def test_logrotate_create_mode_moves_later_lines_to_the_new_file(tmp_path: Path) -> None:
    """logrotate `create`: app.log is renamed to app.log.1 and a new app.log created; every
    later batch goes to the new app.log, none into the moved file."""
    path = tmp_path / "app.log"
    fapilog.configure_logging(sinks=(f"file://{path}",), queue_batch_size=8)
    _log("before", 50)
    path.rename(tmp_path / "app.log.1")
    path.touch()
    _log("after", 50)
    fapilog.shutdown()
    assert _events(tmp_path / "app.log.1") == [("before", i) for i in range(50)]
    assert _events(path) == [("after", i) for i in range(50)]


@pytest.mark.timeout(30)
def test_moved_file_without_create_is_recreated(tmp_path: Path) -> None:
    """The file moved away and nothing created in its place: the sink creates app.log."""
    path = tmp_path / "app.log"
    fapilog.configure_logging(sinks=(f"file://{path}",), queue_batch_size=8)
    _log("before", 20)
    path.rename(tmp_path / "old.log")
    _log("after", 20)
    fapilog.shutdown()
    assert _events(path) == [("after", i) for i in range(20)]


@pytest.mark.timeout(30)
def test_removed_directory_is_recreated_and_nothing_goes_to_an_unlinked_file(
    tmp_path: Path,
) -> None:
    """The log directory removed while the sink is open: the next batch recreates directory
    and file, so events counted delivered are really on disk."""
    path = tmp_path / "logs" / "app.log"
    fapilog.configure_logging(sinks=(f"file://{path}",), queue_batch_size=8)
    _log("before", 20)
    shutil.rmtree(path.parent)
    _log("after", 30)
    final = fapilog.shutdown()
    assert _events(path) == [("after", i) for i in range(30)]
    assert final.delivered == 50 and final.failed == 0


@pytest.mark.timeout(30)
def test_copytruncate_keeps_working(tmp_path: Path) -> None:
    """logrotate `copytruncate`: the file is copied then truncated in place; later lines start
    at offset 0 of the same file (no hole of NUL bytes), the copy keeps the earlier ones."""
    path = tmp_path / "app.log"
    fapilog.configure_logging(sinks=(f"file://{path}",), queue_batch_size=8)
    _log("before", 40)
    shutil.copyfile(path, tmp_path / "app.log.1")
    with path.open("r+b") as file:
        file.truncate(0)
    _log("after", 40)
    fapilog.shutdown()
    assert not path.read_bytes().startswith(b"\0")
    assert _events(path) == [("after", i) for i in range(40)]
    assert _events(tmp_path / "app.log.1") == [("before", i) for i in range(40)]


@pytest.mark.timeout(30)
def test_rotation_by_another_writer_is_adopted_not_repeated(tmp_path: Path) -> None:
    """A second sink (another process would do the same) rotated the shared path: this sink
    notices that app.log is a new, small file and appends to it instead of rotating again."""
    from fapilog.sinks import FileSink

    path = tmp_path / "app.log"
    first = FileSink(path, max_bytes=1000, backup_count=10)
    second = FileSink(path, max_bytes=1000, backup_count=10)
    line = b'{"i":%d,"pad":"' + b"w" * 80 + b'"}\n'
    for i in range(10):  # 990 bytes: the next line crosses the threshold
        first.write([line % i])
    second.write([line % 10])  # second rotates: app.log -> app.log.1
    first.write([line % 11])  # first must follow, not rotate the fresh file away
    first.close()
    second.close()
    assert (first.rotations, second.rotations) == (0, 1)
    assert [r["i"] for r in read_records(path)] == list(range(12))
    assert not (tmp_path / "app.log.2").exists()
