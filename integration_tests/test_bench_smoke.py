"""A smoke run of the benchmark (a few thousand records): it must run end to end and deliver
everything. Its speed is not asserted here; bench/run_bench.py is where speed is measured."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_smoke_run_delivers_every_record_for_every_vendor():
    finished = subprocess.run(
        [sys.executable, "bench/run_bench.py", "--records", "3000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    header, *rows = finished.stdout.strip().splitlines()
    assert header.split()[:2] == ["vendor", "records"]
    table = {row.split()[0]: row.split() for row in rows}
    assert sorted(table) == ["crowdpower", "thrivestack", "userpilot", "zaius"]
    for vendor, columns in table.items():
        records, states, accepted = int(columns[1]), int(columns[-2]), int(columns[-1])
        assert (records, states, accepted) == (3000, 1, 3000), vendor
        assert "EXIT" not in columns
