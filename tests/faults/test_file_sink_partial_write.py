"""Item 2 of issue 8: a write the disk refuses half-way never duplicates or corrupts lines.

"Disk full" is a real ``RLIMIT_FSIZE`` in a child process (``SIGXFSZ`` ignored, so a write past
the limit is cut short and the next one fails with EFBIG); "room again" is raising the limit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.faults._logfiles import duplicates, read_records, run_child

#: Drives FileSink the way the consumer does (write, then flush, retried with the same batch),
#: except that on PartialWrite(k) only lines[k:] are retried and the first k count delivered.
SINK_DRIVER = r"""
import json, resource, signal, sys
import fapilog.sinks
from fapilog.sinks import FileSink

PartialWrite = getattr(fapilog.sinks, "PartialWrite", None)  # absent before 0.x: whole retries
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
path = sys.argv[1]
sink = FileSink(path)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
limit = 30_011  # not a multiple of any line length: writes are cut inside a line
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
delivered, failed, failures, n = [], [], 0, 0
for batch_no in range(200):
    batch = []
    for _ in range(1 + batch_no % 23):
        batch.append(json.dumps({"n": n, "pad": "p" * (n % 97)}).encode() + b"\n")
        n += 1
    pending = list(batch)
    for attempt in range(3):
        try:
            sink.write(pending)
            sink.flush()
        except BaseException as exc:
            failures += 1
            if PartialWrite is not None and isinstance(exc, PartialWrite):
                delivered += pending[: exc.written]
                pending = pending[exc.written :]
        else:
            delivered += pending
            pending = []
            break
    failed += pending
    if pending and failures % 4 == 0:
        limit += 20_003  # room again, for a while
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
sink.close()
print(json.dumps({
    "delivered": [json.loads(l)["n"] for l in delivered],
    "failed": [json.loads(l)["n"] for l in failed],
    "failures": failures, "total": n,
}))
"""


@pytest.mark.timeout(60)
def test_partial_writes_never_duplicate_or_tear_lines(tmp_path: Path) -> None:
    """Batches cut short by a full "disk", then retried as the new consumer does: every line in
    the file is whole JSON, every delivered event is there exactly once, and no failed event
    is there at all."""
    path = tmp_path / "app.log"
    child = run_child(SINK_DRIVER, str(path))
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout.splitlines()[-1])
    assert result["failures"] >= 10 and result["failed"]  # the fault really happened, often
    in_file = [r["n"] for r in read_records(path)]
    assert duplicates(in_file) == []
    assert sorted(in_file) == sorted(result["delivered"])
    assert not set(in_file) & set(result["failed"])
    assert len(result["delivered"]) + len(result["failed"]) == result["total"]


PIPELINE = r"""
import json, resource, signal, sys, threading, time
import fapilog

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
path = sys.argv[1]
fapilog.configure_logging(
    sinks=(f"file://{path}",), queue_overflow="block", queue_block_timeout=None,
    queue_batch_size=37,
)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (50_021, hard))
def room_again():
    time.sleep(0.3)
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
threading.Thread(target=room_again).start()
for n in range(4000):
    fapilog.log.info("e", n=n, pad="q" * (n % 89))
    if n % 20 == 0:
        time.sleep(0.01)
final = fapilog.shutdown(timeout=30)
sink = final.sinks[0]
print(json.dumps({"delivered": sink.delivered, "failed": sink.failed, "errors": sink.errors,
                  "enqueued": final.enqueued, "lost": final.lost}))
"""


@pytest.mark.timeout(60)
def test_pipeline_counts_agree_with_the_file_after_a_full_disk(tmp_path: Path) -> None:
    """Through configure_logging: after a "disk full" that clears, the file holds every line
    once, all valid JSON, and the file sink's delivered count equals the lines in the file."""
    path = tmp_path / "app.log"
    child = run_child(PIPELINE, str(path))
    assert child.returncode == 0, child.stderr
    counts = json.loads(child.stdout.splitlines()[-1])
    assert counts["errors"] > 0  # the fault really happened
    assert counts["delivered"] > 1000  # and cleared
    in_file = [r["n"] for r in read_records(path)]
    assert duplicates(in_file) == []
    assert len(in_file) == counts["delivered"]
    assert counts["delivered"] + counts["failed"] + counts["lost"] == counts["enqueued"] == 4000
