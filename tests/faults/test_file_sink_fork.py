"""Issue 7 item 5 (file sink part): a child forked while the parent's worker writes to a
FileSink never hangs on it and never writes the parent's lines."""

from __future__ import annotations

import os
import threading
import time
import warnings
from pathlib import Path

import pytest

import fapilog
from fapilog.sinks import FileSink
from tests.faults._logfiles import duplicates, read_records

CHILDREN = 20
CHILD_EVENTS = 10


def _in_child(child: int) -> None:
    code = 3
    try:
        for i in range(CHILD_EVENTS):
            fapilog.log.info("child", c=child, i=i)
        final = fapilog.shutdown(timeout=3)
        code = 0 if final.delivered == CHILD_EVENTS else 1
    finally:
        os._exit(code)


@pytest.mark.timeout(90)
def test_forked_children_never_hang_on_the_parents_file_sink(tmp_path: Path) -> None:
    """20 children forked while the parent's worker is busy writing big batches to the same
    FileSink instance: each child delivers its own events within the timeout, and the file
    holds every child's and every parent's delivered line exactly once."""
    path = tmp_path / "app.log"
    # Enough backups for everything the parent writes meanwhile (a rotation every ~1,000 lines).
    sink = FileSink(path, max_bytes=2_000_000, backup_count=5_000)
    fapilog.configure_logging(sinks=(sink,), queue_overflow="block", queue_batch_size=256)
    stop = threading.Event()
    sent = [0]

    def parent_logs() -> None:
        while not stop.is_set():
            fapilog.log.info("parent", i=sent[0], pad="P" * 2000)
            sent[0] += 1

    writer = threading.Thread(target=parent_logs)
    writer.start()
    codes = []
    try:
        for child in range(CHILDREN):
            time.sleep(0.02)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, 3.12+
                pid = os.fork()
            if pid == 0:
                _in_child(child)
            deadline = time.monotonic() + 10
            while (waited := os.waitpid(pid, os.WNOHANG)) == (0, 0):
                if time.monotonic() > deadline:
                    os.kill(pid, 9)
                    waited = os.waitpid(pid, 0)
                    break
                time.sleep(0.01)
            codes.append(os.waitstatus_to_exitcode(waited[1]))
    finally:
        stop.set()
        writer.join()
    final = fapilog.shutdown(timeout=30)
    assert codes == [0] * CHILDREN
    records = read_records(path)
    children = [(r["c"], r["i"]) for r in records if r["event"] == "child"]
    assert sorted(children) == [(c, i) for c in range(CHILDREN) for i in range(CHILD_EVENTS)]
    parents = [r["i"] for r in records if r["event"] == "parent"]
    assert duplicates(parents) == []
    assert len(parents) == final.delivered == sent[0]


def test_after_fork_hook_drops_the_inherited_descriptor_and_reopens(tmp_path: Path) -> None:
    """after_fork_in_child() closes the child's copy of the parent's descriptor (the parent's
    stays usable) and the child's next write reopens the path."""
    path = tmp_path / "app.log"
    sink = FileSink(path)
    sink.write([b'{"who":"parent","n":1}\n'])
    inherited = sink._fd
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            sink.after_fork_in_child()
            try:
                os.fstat(inherited)
            except OSError:
                sink.write([b'{"who":"child","n":2}\n'])
                code = 0 if sink._fd >= 0 else 2
        finally:
            os._exit(code)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    sink.write([b'{"who":"parent","n":3}\n'])
    sink.close()
    assert [r["n"] for r in read_records(path)] == [1, 2, 3]
