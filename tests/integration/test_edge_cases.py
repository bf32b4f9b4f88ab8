"""Edge cases found in review: each test pins one way the pipeline once could hang, spin, raise
into the caller, or lose events without counting them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

import fapilog
from fapilog import ConfigError, _lifecycle
from fapilog.sinks import MemorySink

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _workers_alive() -> int:
    """fapilog's threads: the worker and the sinks' writers."""
    return sum(t.name.startswith("fapilog-") and t.is_alive() for t in threading.enumerate())


class Slow(MemorySink):
    def write(self, lines: Sequence[bytes]) -> None:
        time.sleep(0.2)
        super().write(lines)


def test_timed_out_shutdown_stops_the_worker_and_freezes_the_counts() -> None:
    """After a shutdown that gave up, the worker and the writer exit (no busy loop) and the
    counts stay put: what the slow sink had not taken is failed for it, and the write still in
    progress when the timeout expired is not counted again when it returns."""
    before = _workers_alive()
    fapilog.configure_logging(sinks=(Slow(),), queue_batch_size=10)
    for i in range(100):
        fapilog.log.info("e", i=i)
    final = fapilog.shutdown(timeout=0.1)
    assert final.failed > 0 and final.sinks[0].failed == final.failed
    assert final.enqueued == final.delivered + final.failed + final.lost
    time.sleep(0.5)
    assert fapilog.stats() == final
    deadline = time.monotonic() + 5
    while _workers_alive() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _workers_alive() == before


def test_timed_out_ashutdown_on_a_loop_worker_leaves_the_loop_running() -> None:
    """With worker='loop', a shutdown that times out must not freeze the event loop."""

    async def main() -> float:
        fapilog.configure_logging(sinks=(Slow(),), worker="loop", queue_batch_size=10)
        for i in range(50):
            fapilog.log.info("e", i=i)
        await fapilog.ashutdown(timeout=0.1)
        start = time.monotonic()
        await asyncio.sleep(0.05)
        return time.monotonic() - start

    assert asyncio.run(main()) < 2.0


def test_sink_that_logs_with_loop_worker_and_block_does_not_deadlock() -> None:
    """A sink that logs through fapilog (loop worker, block, full queue) gets a drop, not a hang."""

    class Chatty(MemorySink):
        def write(self, lines: Sequence[bytes]) -> None:
            for _ in range(3):
                fapilog.log.info("from inside the sink")
            fapilog.flush(timeout=1)
            super().write(lines)

    sink = Chatty()

    async def main() -> fapilog.PipelineStats:
        fapilog.configure_logging(
            sinks=(sink,),
            worker="loop",
            queue_overflow="block",
            queue_maxsize=4,
            queue_batch_size=2,
            queue_block_timeout=None,
        )
        for i in range(20):
            fapilog.log.info("e", i=i)
        return await fapilog.ashutdown(timeout=5)

    final = asyncio.run(main())
    assert final.attempted == final.enqueued + final.dropped
    assert final.enqueued == final.delivered


def test_sink_calling_flush_with_thread_worker_does_not_wait_for_itself() -> None:
    """flush() from inside a sink returns False at once instead of waiting for its own batch."""
    seen: list[bool] = []

    class Flusher(MemorySink):
        def write(self, lines: Sequence[bytes]) -> None:
            seen.append(fapilog.flush(timeout=None))
            super().write(lines)

    fapilog.configure_logging(sinks=(Flusher(),))
    start = time.monotonic()
    fapilog.log.info("one")
    assert fapilog.flush(5)
    assert seen == [False]
    assert time.monotonic() - start < 2


def test_loop_worker_hands_over_to_a_thread_when_its_loop_ends() -> None:
    """Events logged after asyncio.run() returned (drop mode) are still delivered."""
    sink = MemorySink()

    async def configure() -> None:
        fapilog.configure_logging(sinks=(sink,), worker="loop", queue_maxsize=1000)

    async def second_run() -> None:
        for i in range(3000):
            fapilog.log.info("second loop", i=i)
            if i % 100 == 0:
                await asyncio.sleep(0.001)

    asyncio.run(configure())
    asyncio.run(second_run())
    final = fapilog.shutdown(timeout=10)
    assert final.dropped < 3000 // 2
    assert sink.count == final.enqueued == final.delivered


def test_block_thread_does_not_hang_after_the_loop_worker_loop_ended() -> None:
    """A thread blocking on a full queue whose loop worker's loop is gone still gets through."""
    sink = MemorySink()

    async def configure() -> None:
        fapilog.configure_logging(
            sinks=(sink,),
            worker="loop",
            queue_overflow="block",
            queue_maxsize=4,
            queue_batch_size=2,
            queue_block_timeout=None,
        )

    asyncio.run(configure())
    results: list[bool] = []
    thread = threading.Thread(
        target=lambda: results.extend(fapilog.log.info("t") for _ in range(50))
    )
    thread.start()
    thread.join(20)
    assert not thread.is_alive()
    assert results == [True] * 50
    assert fapilog.shutdown().delivered == 50


def test_one_unserializable_value_does_not_cost_its_batch() -> None:
    """A huge int and a key whose str() raises fall back; the other events of the batch arrive."""

    class BadKey:
        def __str__(self) -> str:
            raise RuntimeError("no str")

        def __repr__(self) -> str:
            raise RuntimeError("no repr")

        def __hash__(self) -> int:
            return 1

    sink = MemorySink(keep=10)
    fapilog.configure_logging(sinks=(sink,), queue_flush_interval=60)
    fapilog.log.info("good 1")
    fapilog.log.info("huge", n=10**5000)
    fapilog.log.info("bad key", d={BadKey(): 1})
    fapilog.log.info("good 2")
    final = fapilog.shutdown()
    assert (final.delivered, final.failed, final.lost) == (4, 0, 0)
    events = [r["event"] for r in sink.records]
    assert events == ["good 1", "huge", "bad key", "good 2"]
    assert sink.records[1]["n"].startswith("<int of ")


def test_inline_drain_of_a_hostile_value_does_not_raise() -> None:
    """loop worker + block: the call that drains a batch inline never raises, whatever it holds."""

    async def main() -> list[bool]:
        fapilog.configure_logging(
            sinks=(MemorySink(),),
            worker="loop",
            queue_overflow="block",
            queue_maxsize=2,
            queue_batch_size=1,
            queue_block_timeout=None,
        )
        return [fapilog.log.info("x", n=10**5000) for _ in range(6)]

    assert asyncio.run(main()) == [True] * 6


@pytest.mark.parametrize("level", ["--5", "²", "5" * 5000, "-10", object()])
def test_odd_levels_never_raise(level: object) -> None:
    """log() with a level it cannot parse logs at INFO under that name instead of raising."""

    class NoStr:
        def __str__(self) -> str:
            raise RuntimeError("no str")

    sink = MemorySink(keep=2)
    fapilog.configure_logging(sinks=(sink,))
    assert fapilog.log.log(level, "odd")
    assert fapilog.log.log(NoStr(), "no str")  # type: ignore[arg-type]
    assert fapilog.flush(5)
    assert [r["event"] for r in sink.records] == ["odd", "no str"]


@pytest.mark.parametrize("value", ["²", "--5", "5" * 5000])
def test_odd_level_in_the_environment_does_not_raise_from_a_log_call(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """A FAPILOG_LEVEL that only looks numeric is a ConfigError, reported at the first call."""
    monkeypatch.setenv("FAPILOG_LEVEL", value)
    with pytest.raises(ConfigError, match="FAPILOG_LEVEL"):
        fapilog.configure_logging()
    assert fapilog.log.info("still logs") is True


@pytest.mark.parametrize("uri", ["memory?delay=nan", "memory?delay=inf"])
def test_non_finite_sink_parameters_are_config_errors(uri: str) -> None:
    """NaN or infinite sink parameters fail at configure time with ConfigError, not ValueError."""
    with pytest.raises(ConfigError, match="FAPILOG_SINKS"):
        fapilog.configure_logging(sinks=(uri,))


def test_blocked_caller_moves_to_the_new_pipeline_on_reconfigure() -> None:
    """A thread waiting for room under block is admitted by the next pipeline, not dropped."""
    fapilog.configure_logging(
        sinks=(Slow(),),
        queue_overflow="block",
        queue_maxsize=2,
        queue_batch_size=1,
        queue_block_timeout=None,
    )
    results: list[bool] = []
    thread = threading.Thread(
        target=lambda: results.extend(fapilog.log.info("w") for _ in range(6))
    )
    thread.start()
    time.sleep(0.1)
    new_sink = MemorySink()
    fapilog.configure_logging(sinks=(new_sink,), queue_overflow="block", queue_block_timeout=None)
    thread.join(20)
    assert results == [True] * 6
    fapilog.shutdown()


def test_reconfigure_that_loses_events_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """If the old pipeline cannot drain in time, the loss is reported on stderr."""

    class Stuck(MemorySink):
        def write(self, lines: Sequence[bytes]) -> None:
            time.sleep(1.0)

    fapilog.configure_logging(sinks=(Stuck(),), queue_batch_size=1, shutdown_timeout=0.2)
    for i in range(10):
        fapilog.log.info("e", i=i)
    old = _lifecycle.current_pipeline()
    start = time.monotonic()
    fapilog.configure_logging(sinks=("null",))
    assert time.monotonic() - start < 1.0  # the old pipeline's shutdown_timeout, not 5 s
    assert old is not None
    final = old.stats()
    assert final.failed > 0 and final.enqueued == 10 == final.delivered + final.failed + final.lost
    err = capsys.readouterr().err
    assert f"previous pipeline ended with {final.lost} events lost and {final.failed} failed" in err
    assert "within 0.2 s" in err


def test_async_waiters_do_not_pile_up_while_a_sink_stalls() -> None:
    """200 blocked ainfo() callers keep one registration each, however long they wait."""

    class Stall(MemorySink):
        def write(self, lines: Sequence[bytes]) -> None:
            time.sleep(0.6)
            super().write(lines)

    async def main() -> int:
        fapilog.configure_logging(
            sinks=(Stall(),),
            queue_overflow="block",
            queue_maxsize=2,
            queue_batch_size=1,
            queue_block_timeout=None,
        )
        pipeline = _lifecycle.current_pipeline()
        assert pipeline is not None
        tasks = [asyncio.create_task(fapilog.log.ainfo("x")) for _ in range(200)]
        await asyncio.sleep(0.4)
        most = len(pipeline.queue._sleepers)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return most

    assert asyncio.run(main()) <= 200


def test_sink_raising_system_exit_does_not_kill_the_worker() -> None:
    """Even a BaseException from a sink is a sink failure; the worker goes on."""

    class Exits(MemorySink):
        name = "exits"

        def write(self, lines: Sequence[bytes]) -> None:
            raise SystemExit(3)

    good = MemorySink()
    fapilog.configure_logging(sinks=(Exits(), good), queue_overflow="block")
    for i in range(100):
        fapilog.log.info("e", i=i)
    final = fapilog.shutdown(timeout=10)
    assert good.count == 100
    assert final.failed == 100


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": SRC, **env}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=60
    )


def test_logging_from_a_later_atexit_handler_is_delivered(tmp_path: Path) -> None:
    """A log call made while the interpreter exits (after fapilog's own hook) is not lost."""
    path = tmp_path / "late.log"
    code = (
        "import atexit, fapilog\n"
        "atexit.register(lambda: fapilog.log.info('at exit'))\n"
        "import fapilog._lifecycle\n"  # fapilog's hook registers after the handler above
        "fapilog.log.info('normal')\n"
    )
    result = _run(code, FAPILOG_SINKS=f"file://{path}")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line)["event"] for line in path.read_text().splitlines()]
    assert events == ["normal", "at exit"]


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_multiprocessing_child_delivers_before_os_exit(tmp_path: Path) -> None:
    """A multiprocessing (fork) child's events reach the file although it ends with os._exit."""
    path = tmp_path / "mp.log"
    code = (
        "import multiprocessing as mp, fapilog\n"
        "fapilog.log.info('parent')\n"
        "def child():\n"
        "    fapilog.log.info('child')\n"
        "p = mp.get_context('fork').Process(target=child)\n"
        "p.start(); p.join()\n"
        "raise SystemExit(p.exitcode)\n"
    )
    result = _run(code, FAPILOG_SINKS=f"file://{path}", FAPILOG_QUEUE_FLUSH_INTERVAL="60")
    assert result.returncode == 0, result.stderr
    events = sorted(json.loads(line)["event"] for line in path.read_text().splitlines())
    assert events == ["child", "parent"]
