"""A slow vendor slows the reading down instead of growing a queue: memory stays bounded.

The emulator holds the first request for a long time. A bounded pipeline stops reading stdin
once its batches in flight are full, so a feeder thread soon blocks on the pipe; an unbounded
one would swallow the whole input. The assertion is on how many records were taken in, never on
a duration.
"""

from __future__ import annotations

import json
import threading
import time

from integration_tests.cli import USERS, LiveCli, configured_catalog, connector_config, record_data, record_message, write_args

RECORDS = 60_000
BATCH = 1_000  # Thrivestack's cap
MAX_IN_FLIGHT = 2  # 2 x max_concurrent_requests (1)
# Taken in at most: the batches in flight, the one being filled, the reader's 1 MiB chunk
# (about 2,800 of these records) and the pipe's buffer. Far below the whole input.
BOUND = (MAX_IN_FLIGHT + 1) * BATCH + 2_800 + 1_000


def test_a_stalled_vendor_stops_the_reading_instead_of_queueing_the_input(tmp_path, emulator):
    emulator.inject({"delay": 60})
    config = connector_config("thrivestack", emulator.url, top={"max_concurrent_requests": 1, "request_timeout_seconds": 120})
    cli = LiveCli(write_args(tmp_path, config, configured_catalog([USERS])))
    written = [0]

    def feed() -> None:
        for i in range(RECORDS):
            line = json.dumps(record_message(USERS, record_data(i), 1732262400000)).encode() + b"\n"
            try:
                cli.process.stdin.write(line)
            except (BrokenPipeError, ValueError):
                return
            written[0] = i + 1

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        # Wait until the feeder has stopped making progress (blocked on the full pipe).
        previous = -1
        while written[0] != previous:
            previous = written[0]
            time.sleep(1.0)
        assert cli.process.poll() is None, "the connector exited instead of waiting on the vendor"
        assert emulator.stats()["faults_served"] == 1  # the one request sent is being held
        assert written[0] < BOUND, f"the connector took in {written[0]} records while the vendor was stalled"
        assert emulator.accepted("thrivestack") == []  # the one request sent is still held
    finally:
        cli.kill()
        cli.finish(timeout=5)
