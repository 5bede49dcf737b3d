"""Throughput and memory of a real `write`, per vendor, against the emulator as a lean sink.

    python bench/run_bench.py [--records 1000000] [--vendors thrivestack,crowdpower,userpilot,zaius]

Generates a realistic input (nested objects, lists, non-ASCII names, a STATE every 10,000
records), times a bare `orjson.loads` loop over the same file as the floor (before and after
each vendor's run, averaged: the machine's speed drifts), starts the emulator in its own process
(counting and checking, not storing), then runs the CLI for each vendor and prints records/s,
MB/s, peak RSS, the ratio to the orjson loop and the floor it used, and the connector's and the
sink's CPU seconds. Zaius is paced by its documented 10 requests/second (500 per request), so it
runs on fewer records.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "bench-key"
STATE_EVERY = 10_000
RATE_BOUND_RECORDS = {"zaius": 50_000}
VENDOR_OPTIONS = {
    "thrivestack": {},
    "crowdpower": {},
    "userpilot": {"mode": "bulk", "job_poll_interval_seconds": 0.02},
    "zaius": {},
}
FIRST = ["Ada", "Grace", "Zoë", "José", "Łukasz", "Søren", "Aiko", "Chidi", "Élodie", "Mateo"]
LAST = ["Lovelace", "Hopper", "Ångström", "Núñez", "Wróbel", "Kierkegaard", "Tanaka", "Okafor", "Dubois", "García"]
SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "email": {"type": ["null", "string"]},
        "first_name": {"type": ["null", "string"]},
        "last_name": {"type": ["null", "string"]},
        "phone": {"type": ["null", "string"]},
        "plan": {"type": ["null", "string"]},
        "seats": {"type": ["null", "integer"]},
        "score": {"type": ["null", "number"]},
        "active": {"type": ["null", "boolean"]},
        "created_at": {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
        "tags": {"type": ["null", "array"], "items": {"type": "string"}},
        "address": {"type": ["null", "object"], "properties": {"city": {"type": ["null", "string"]}}},
        "company": {"type": ["null", "object"]},
    },
    "required": ["id"],
}


def generate(path: Path, records: int) -> None:
    rng = random.Random(7)
    with open(path, "wb") as out:
        for i in range(1, records + 1):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            data = {
                "id": i,
                "email": f"{first.lower()}.{i}@example.com",
                "first_name": first,
                "last_name": last,
                "phone": f"+1555{i:07d}",
                "plan": rng.choice(["free", "pro", "enterprise"]),
                "seats": rng.randint(1, 500),
                "score": round(rng.random() * 100, 2),
                "active": rng.random() > 0.2,
                "created_at": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T08:{rng.randint(0, 59):02d}:00Z",
                "tags": rng.sample(["beta", "vip", "churn-risk", "newsletter", "trial"], 2),
                "address": {"street": f"{i} Main St", "city": rng.choice(["Boston", "München", "São Paulo"]), "postal_code": "02101", "country": "US"},
                "company": {"id": f"acme-{i % 997}", "name": "Acme Ünited"},
            }
            out.write(orjson.dumps({"type": "RECORD", "record": {"stream": "users", "data": data, "emitted_at": 1732262400000}}))
            out.write(b"\n")
            if i % STATE_EVERY == 0 or i == records:
                state = {"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"}, "stream_state": {"id": i}}, "id": i // STATE_EVERY}
                out.write(orjson.dumps({"type": "STATE", "state": state}) + b"\n")


def orjson_floor(path: Path) -> float:
    started = time.perf_counter()
    loads = orjson.loads
    with open(path, "rb") as handle:
        for line in handle:
            loads(line)
    return time.perf_counter() - started


def start_emulator() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "integration_tests.emulator", "--port", "0", "--api-key", API_KEY, "--lean", "--userpilot-job-polls", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().strip()
    return process, line.rsplit(" ", 1)[-1]


def run_write(vendor: str, url: str, input_path: Path, folder: Path) -> dict:
    config = {"vendor": {"vendor": vendor, "api_key": API_KEY, "base_url": url, **VENDOR_OPTIONS[vendor]}}
    catalog = {"streams": [{"stream": {"name": "users", "json_schema": SCHEMA, "supported_sync_modes": ["full_refresh"]}, "sync_mode": "full_refresh", "destination_sync_mode": "append", "primary_key": [["id"]]}]}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "catalog.json").write_text(json.dumps(catalog))
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    started = time.perf_counter()
    with open(input_path, "rb") as stdin, open(folder / "stdout.jsonl", "wb") as stdout:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "write", "--config", str(folder / "config.json"), "--catalog", str(folder / "catalog.json")],
            stdin=stdin, stdout=stdout, env=environment,
        )
        _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    states = sum(1 for line in open(folder / "stdout.jsonl", "rb") if line.startswith(b'{"type":"STATE"'))
    return {
        "elapsed": elapsed,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "exit": os.waitstatus_to_exitcode(status),
        "states": states,
    }


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process (Linux /proc), to show whether the sink kept up."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def emulator_stats(url: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(f"{url}/__emulator__/stats") as answer:
        return json.load(answer)


def reset_emulator(url: str) -> None:
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{url}/__emulator__/reset", data=b"{}", method="POST")).read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--vendors", default="thrivestack,crowdpower,userpilot,zaius")
    arguments = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="identify-bench-"))
    sizes = sorted({min(arguments.records, RATE_BOUND_RECORDS.get(v, arguments.records)) for v in arguments.vendors.split(",")})
    inputs = {}
    for size in sizes:
        inputs[size] = folder / f"input-{size}.jsonl"
        generate(inputs[size], size)
    emulator, url = start_emulator()
    print(f"{'vendor':<12} {'records':>9} {'seconds':>8} {'records/s':>10} {'MB/s':>6} {'peak RSS':>9} {'x orjson':>8} {'floor s':>7} {'cpu s':>6} {'sink s':>6} {'states':>6} {'accepted':>9}")
    last_floor: dict[Path, float] = {}  # a run's "after" floor is the next run's "before"
    try:
        for vendor in arguments.vendors.split(","):
            size = min(arguments.records, RATE_BOUND_RECORDS.get(vendor, arguments.records))
            path = inputs[size]
            floor_before = last_floor.pop(path, None) or orjson_floor(path)
            reset_emulator(url)
            sink_before = process_cpu_seconds(emulator.pid)
            result = run_write(vendor, url, path, folder)
            sink_cpu = process_cpu_seconds(emulator.pid) - sink_before
            # This machine's speed drifts by up to 2x over minutes: time the floor on both sides.
            last_floor[path] = orjson_floor(path)
            floor = (floor_before + last_floor[path]) / 2
            accepted = emulator_stats(url)["accepted_count"][vendor]
            megabytes = path.stat().st_size / 1e6
            print(
                f"{vendor:<12} {size:>9} {result['elapsed']:>8.2f} {size / result['elapsed']:>10.0f} "
                f"{megabytes / result['elapsed']:>6.1f} {result['peak_rss_mib']:>7.1f}Mi {result['elapsed'] / floor:>8.2f} {floor:>7.2f} "
                f"{result['cpu']:>6.2f} {sink_cpu:>6.2f} {result['states']:>6} {accepted:>9}" + ("" if result["exit"] == 0 else f"  EXIT {result['exit']}")
            )
    finally:
        emulator.terminate()
        emulator.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
