"""What compiled code would buy on the Thrivestack path: an unshipped experiment (issue 6).

    pip install cython && python bench/compiled_prototype/measure.py [--records 100000]

Compiles hot_path.pyx (pyximport: needs Cython and a C compiler), checks that its mapping gives
the same bytes as the connector's on every generated record, then times three loops over the
same file, in turns so that the machine's drift hits all three alike: the bare `orjson.loads`
loop (the benchmark's floor), the connector's own write loop (`Writer._take_lines`, dry run,
lines already split), and the prototype. Prints each loop's ratio to the floor.

Not run by CI, and not kept in step with the connector: the byte-for-byte check above is what
tells whether it still measures the same work.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson
import pyximport

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
pyximport.install(language_level=3)

from bench.compiled_prototype import hot_path  # noqa: E402
from bench.run_bench import SCHEMA, generate  # noqa: E402
from destination_identify.config import parse_config  # noqa: E402
from destination_identify.errors import RecordRejected  # noqa: E402
from destination_identify.fields import drop_nulls  # noqa: E402
from destination_identify.output import Output  # noqa: E402
from destination_identify.senders import SenderPool  # noqa: E402
from destination_identify.validation import RecordValidator  # noqa: E402
from destination_identify.values import identifier_text, scalar_text, text_list  # noqa: E402
from destination_identify.writer import Writer  # noqa: E402

PLACE, OPEN, KEEP, KEEP_NESTED = 0, 1, 2, 3
CALL, TEXT, IDENT, LIST = 0, 1, 2, 3
# The plan of the benchmark's one layout (bench.run_bench.generate), in the order the generated
# code of compiled_items.py places it. Written by hand: the prototype has no planner.
BENCH_PLAN = (
    (PLACE, 1, -1, 0, "email", scalar_text, "email", TEXT),
    (PLACE, 2, -1, 0, "enrichment_first_name", scalar_text, "first_name", TEXT),
    (PLACE, 3, -1, 0, "enrichment_last_name", scalar_text, "last_name", TEXT),
    (PLACE, 4, -1, 0, "enrichment_phone", text_list, "phone", LIST),
    (OPEN, 11),
    (PLACE, 11, 1, 0, "enrichment_city", scalar_text, "city", TEXT),
    (PLACE, 11, 3, 0, "enrichment_country", scalar_text, "country", TEXT),
    (KEEP, 11, 0, 0, "street"),
    (KEEP, 11, 2, 0, "postal_code"),
    (OPEN, 12),
    (PLACE, 12, 0, 1, "group_id", identifier_text, "company_id", IDENT),
    (PLACE, 12, 1, 0, "enrichment_employment_name", scalar_text, "company_name", TEXT),
    *((KEEP, index, -1, 0, key) for index, key in enumerate(("plan", "seats", "score", "active", "created_at", "tags"), 5)),
    (KEEP_NESTED, 11, -1, 0, "address"),
    (KEEP_NESTED, 12, -1, 0, "company"),
)
CATALOG = {"streams": [{"stream": {"name": "users", "json_schema": SCHEMA, "supported_sync_modes": ["full_refresh"]}, "sync_mode": "full_refresh", "destination_sync_mode": "append", "primary_key": [["id"]]}]}
CONFIG = {"vendor": {"vendor": "thrivestack", "api_key": "k", "base_url": "https://bench.invalid"}, "dry_run": True}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    path = Path(tempfile.mkdtemp(prefix="identify-prototype-")) / "input.jsonl"
    generate(path, arguments.records)
    with open(path, "rb") as handle:
        reads = [lines for lines in iter(lambda: handle.readlines(65536), [])]

    output = Output()
    output._write = lambda *_args, **_kwargs: None  # the writer's final report is not wanted here
    vendor = Writer(parse_config(CONFIG), CATALOG, output).vendor
    mapper = hot_path.PlanMapper(
        13,
        ((11, ("street", "city", "postal_code", "country")), (12, ("id", "name"))),
        (0, identifier_text, "user_id", "no user id", "user_id"),
        BENCH_PLAN,
        ("traits", "context"),
        (("timestamp", vendor._timestamp),),
        drop_nulls,
        RecordRejected,
    )
    for number, line in enumerate((line for lines in reads for line in lines), 1):
        message = orjson.loads(line)
        if message["type"] == "RECORD":
            record = message["record"]
            expected = orjson.dumps(vendor.map_record(record["data"], record["emitted_at"], "id"))
            if orjson.dumps(mapper(record["data"], record["emitted_at"])) != expected:
                raise SystemExit(f"line {number}: the prototype maps it unlike the connector")
    validator = RecordValidator(SCHEMA)

    def floor() -> None:
        loads = orjson.loads
        with open(path, "rb") as handle:
            for line in handle:
                loads(line)

    def connector() -> None:
        writer = Writer(parse_config(CONFIG), CATALOG, output)
        writer.pool = SenderPool(writer._accept_without_sending, 1)
        for lines in reads:
            writer._take_lines(lines, 0, time.monotonic())
            writer._settle_completed(timeout=0)
            writer._release_states()

    def prototype() -> None:
        for lines in reads:
            hot_path.take_lines(lines, orjson.loads, orjson.dumps, validator.is_valid, mapper, 1000)

    times: dict[str, list[float]] = {"floor": [], "connector": [], "prototype": []}
    loops = {"floor": floor, "connector": connector, "prototype": prototype}
    for _ in range(arguments.rounds):
        for name, loop in loops.items():
            started = time.perf_counter()
            loop()
            times[name].append(time.perf_counter() - started)
    print(f"{arguments.records} records, {arguments.rounds} rounds; every mapped record byte-equal to the connector's")
    for name in ("connector", "prototype"):
        ratios = [spent / base for spent, base in zip(times[name], times["floor"])]
        print(
            f"{name:<10} {statistics.median(times[name]) / arguments.records * 1e6:6.2f} us/record, "
            f"{statistics.median(ratios):.2f}x the orjson loop (rounds: {', '.join(f'{r:.2f}' for r in ratios)})"
        )
    print(f"{'floor':<10} {statistics.median(times['floor']) / arguments.records * 1e6:6.2f} us/line")
    return 0


if __name__ == "__main__":
    sys.exit(main())
