"""CPU per record of ``Serializer.dumps`` (and ``dumps_batch`` where it exists), in-process.

    python -m bench.load.serialize_cost [--records 200000] [--batch 256] [--json stdlib]

Serializes the throughput cells' record (``bench.event`` with three call fields, empty context
and bound fields, timestamps 1 µs apart) batch by batch as the consumer does, and prints the
best of 5 repeats of ``time.process_time()`` ÷ records. Run it with ``PYTHONPATH`` pointing at
another checkout's ``src`` to compare two versions in the same session (interleave the runs).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

try:
    import fapilog
except ImportError:  # a fresh checkout: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
    import fapilog
from fapilog._serialize import Serializer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--json", choices=("orjson", "stdlib"), default="orjson")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    serializer = Serializer(use_orjson=args.json == "orjson")
    base = time.time()
    records = [
        (
            base + i * 1e-6,
            "info",
            "bench.event",
            {},
            {},
            {"seq": i, "route": "/api/orders", "status": 200},
        )
        for i in range(args.records)
    ]
    batches = [records[i : i + args.batch] for i in range(0, len(records), args.batch)]
    methods = {"dumps": lambda batch: [serializer.dumps(r) for r in batch]}
    if hasattr(serializer, "dumps_batch"):
        methods["dumps_batch"] = serializer.dumps_batch
    for name, method in methods.items():
        best = min(_run(method, batches) for _ in range(args.repeats))
        print(
            f"{fapilog.__version__} {args.json} {name}: {best / args.records * 1e9:.0f} ns/record"
        )


def _run(method, batches) -> float:  # type: ignore[no-untyped-def]
    start = time.process_time()
    for batch in batches:
        method(batch)
    return time.process_time() - start


if __name__ == "__main__":
    main()
