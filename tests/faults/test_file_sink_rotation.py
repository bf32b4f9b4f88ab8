"""Item 1 of issue 8: a failed rotation or a deleted file never kills the file sink."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import fapilog
from fapilog.sinks import FileSink
from tests.faults._logfiles import duplicates, log_files, read_records, run_child

EMFILE_AT_ROTATION = r"""
import json, os, resource, sys, time
import fapilog

path = sys.argv[1]
fapilog.configure_logging(
    sinks=(f"file://{path}?max_bytes=20000&backup_count=1000",),
    queue_overflow="block", queue_block_timeout=None, queue_batch_size=50,
)
for i in range(100):
    fapilog.log.info("before", i=i, pad="x" * 40)
fapilog.flush()
# No descriptor to be had: a new fd must be below 3, and 0-2 stay open. Open files keep working.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (3, hard))
during = 0
deadline = time.monotonic() + 1.5
while time.monotonic() < deadline:
    fapilog.log.info("during", i=during, pad="x" * 40)
    during += 1
    if during % 50 == 0:
        time.sleep(0.01)
fapilog.flush()
resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
for i in range(5000):
    fapilog.log.info("after", i=i, pad="x" * 40)
final = fapilog.shutdown(timeout=30)
print(json.dumps({"during": during, "delivered": final.delivered, "failed": final.failed,
                  "lost": final.lost, "enqueued": final.enqueued}))
"""


@pytest.mark.timeout(60)
def test_emfile_at_rotation_loses_no_event_and_no_backup(tmp_path: Path) -> None:
    """With no file descriptor to be had for 1.5 s while the file must rotate, every event
    (before, during and after the fault) is in the files exactly once, the backups are
    contiguous (none lost), and the stderr report names EMFILE, not a later FileNotFoundError."""
    path = tmp_path / "logs" / "app.log"
    child = run_child(EMFILE_AT_ROTATION, str(path))
    assert child.returncode == 0, child.stderr
    counts = json.loads(child.stdout.splitlines()[-1])
    records = read_records(path)
    keys = [(r["event"], r["i"]) for r in records]
    assert duplicates(keys) == []
    for event, total in (("before", 100), ("during", counts["during"]), ("after", 5000)):
        assert sorted(i for e, i in keys if e == event) == list(range(total)), event
    assert counts["delivered"] == len(records) == counts["enqueued"]
    assert counts["failed"] == counts["lost"] == 0
    backups = [int(p.suffix[1:]) for p in log_files(path) if p != path]
    assert backups == sorted(range(1, len(backups) + 1), reverse=True)  # no gap: none lost
    assert len(backups) >= 2  # rotation resumed once descriptors were back
    assert "Too many open files" in child.stderr
    assert "FileNotFoundError" not in child.stderr


@pytest.mark.timeout(30)
def test_deleted_file_is_recreated_and_rotation_goes_on(tmp_path: Path) -> None:
    """An operator removing app.log between batches: the next batch recreates it, and later
    rotations work; every event logged after the removal is in the files exactly once."""
    path = tmp_path / "app.log"
    fapilog.configure_logging(
        sinks=(f"file://{path}?max_bytes=4000&backup_count=1000",),
        queue_overflow="block",
        queue_batch_size=10,
    )
    for i in range(20):
        fapilog.log.info("before", i=i)
    assert fapilog.flush(timeout=10)
    for file in log_files(path):
        file.unlink()
    for i in range(500):
        fapilog.log.info("after", i=i, pad="y" * 40)
    final = fapilog.shutdown(timeout=10)
    assert (final.failed, final.lost) == (0, 0)
    records = read_records(path)
    assert [r["i"] for r in records if r["event"] == "after"] == list(range(500))
    assert len(log_files(path)) > 3
    assert not [r for r in records if r["event"] == "before"]


@pytest.mark.timeout(30)
def test_failed_rename_leaves_a_working_file_and_every_backup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rotation whose rename fails (app.log.1 is a non-empty directory: EISDIR/ENOTEMPTY)
    writes the batch on to the current file, reports the root error, and rotates once the
    obstacle is gone; nothing is lost and nothing written twice."""
    path = tmp_path / "app.log"
    blocker = tmp_path / "app.log.1"
    blocker.mkdir()
    (blocker / "keep").write_text("x")
    sink = FileSink(path, max_bytes=300, backup_count=1)
    line = b'{"i":%d,"pad":"%s"}\n'
    for i in range(10):
        sink.write([line % (i, b"z" * 60)])
    assert sink.rotations == 0 and path.stat().st_size > 300
    err = capsys.readouterr().err
    assert "could not rotate" in err and ("IsADirectoryError" in err or "OSError" in err)
    (blocker / "keep").unlink()
    blocker.rmdir()
    for i in range(10, 12):
        sink.write([line % (i, b"z" * 60)])
    sink.close()
    assert sink.rotations == 1
    assert [r["i"] for r in read_records(path)] == list(range(12))


def test_closed_sink_reopens_on_the_next_write(tmp_path: Path) -> None:
    """A FileSink that was closed (or lost its file) reopens it, directory included, on the
    next write instead of failing for good."""
    path = tmp_path / "gone" / "app.log"
    sink = FileSink(path)
    sink.write([b'{"n":1}\n'])
    sink.close()
    os.remove(path)
    path.parent.rmdir()
    sink.write([b'{"n":2}\n'])
    sink.close()
    assert path.read_bytes() == b'{"n":2}\n'
