"""Per-record cost of each stage of the write loop, in microseconds, per vendor.

    python bench/stage_costs.py [--records 20000]

Runs the stages in-process over the same generated records the benchmark uses (no HTTP), so
that a change to parsing, validation or mapping shows up on its own.
"""

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run_bench import SCHEMA, VENDOR_OPTIONS, generate  # noqa: E402
from destination_identify.validation import RecordValidator  # noqa: E402
from destination_identify.vendors import vendor_from_config  # noqa: E402


def timed(function, items, repeats: int = 5) -> float:
    """The best of `repeats` passes: this machine's speed drifts, the minimum is what the code costs."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        for item in items:
            function(item)
        best = min(best, time.perf_counter() - started)
    return best / len(items) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20_000)
    arguments = parser.parse_args()
    path = Path(tempfile.mkdtemp()) / "input.jsonl"
    generate(path, arguments.records)
    lines = [line for line in path.read_bytes().split(b"\n") if line.startswith(b'{"type":"RECORD"')]
    records = [orjson.loads(line)["record"] for line in lines]
    validator = RecordValidator(SCHEMA)
    print(f"orjson.loads    {timed(orjson.loads, lines):6.2f} us")
    print(f"validate        {timed(lambda r: validator.is_valid(r['data']), records):6.2f} us")
    for name, options in VENDOR_OPTIONS.items():
        vendor = vendor_from_config({"vendor": name, "api_key": "k", **options})
        payloads = [vendor.map_record(r["data"], r["emitted_at"], "id") for r in records[:1000]]
        mapping = timed(lambda r: vendor.map_record(r["data"], r["emitted_at"], "id"), records)
        dumping = timed(orjson.dumps, payloads * (len(records) // 1000 or 1))
        print(f"map {name:<11} {mapping:6.2f} us   dumps {dumping:5.2f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
