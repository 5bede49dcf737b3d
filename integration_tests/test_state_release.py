"""When STATEs come out: within flush_interval_seconds while stdin stays open (PYTHONUNBUFFERED
unset), never before the vendor answered for their records, and for Userpilot bulk never before
the job completed. Also global and legacy STATEs."""

from __future__ import annotations

import copy
import time

from integration_tests import payloads
from integration_tests.cli import (
    CONTACTS,
    EMITTED_AT,
    USERS,
    LiveCli,
    Row,
    configured_catalog,
    connector_config,
    record_data,
    record_message,
    run_cli,
    state_message,
    wait_until,
    write_args,
    write_messages,
)

DEADLINE_SECONDS = 8  # generous; the flush interval is 0.5 s (the default would be 30 s)
JOB_ROUTE = "GET /v1/background_jobs/{job_id}"


def rows(start: int, count: int, stream=USERS) -> list[Row]:
    return [Row(i, stream, i + 1, record_data(i, stream), EMITTED_AT[0], "valid") for i in range(start, start + count)]


def with_stats(state: dict, delivered: int, rejected: int = 0) -> dict:
    expected = copy.deepcopy(state)
    expected["state"]["destinationStats"] = {"recordCount": float(delivered), "rejectedRecordCount": float(rejected)}
    return expected


def test_state_is_released_within_the_flush_interval_while_stdin_stays_open(tmp_path, emulator):
    config = connector_config("thrivestack", emulator.url, top={"flush_interval_seconds": 0.5})
    cli = LiveCli(write_args(tmp_path, config, configured_catalog([USERS])))
    try:
        first, second = rows(0, 10), rows(10, 5)
        state_1 = state_message(USERS, 10, 1, 10)
        cli.send([record_message(USERS, row.data, row.emitted_at) for row in first] + [state_1])
        assert cli.next_message(time.monotonic() + DEADLINE_SECONDS, "STATE") == with_stats(state_1, 10)
        assert sorted(item["user_id"] for item in emulator.accepted("thrivestack")) == [f"u{i:06d}" for i in range(10)]

        state_2 = state_message(USERS, 15, 2, 5)
        cli.send([record_message(USERS, row.data, row.emitted_at) for row in second] + [state_2])
        assert cli.next_message(time.monotonic() + DEADLINE_SECONDS, "STATE") == with_stats(state_2, 5)
        assert len(emulator.accepted("thrivestack")) == 15
        assert cli.process.poll() is None  # still reading: stdin is open
    finally:
        cli.close_stdin()
        result = cli.finish()
    assert result.returncode == 0
    assert result.states == [with_stats(state_1, 10), with_stats(state_2, 5)]
    assert emulator.accepted("thrivestack") == [payloads.thrivestack(row) for row in first + second]


def test_state_waits_until_the_vendor_answered(tmp_path, emulator):
    """The emulator holds the request 1.5 s, and logs it only when it answers: a STATE read from
    stdout while the log is empty would have been released before its records were accepted."""
    emulator.inject({"delay": 1.5}, path="/api/identify")
    config = connector_config("thrivestack", emulator.url, top={"flush_interval_seconds": 0.2})
    cli = LiveCli(write_args(tmp_path, config, configured_catalog([USERS])))
    try:
        state = state_message(USERS, 10, 1, 10)
        cli.send([record_message(USERS, row.data, row.emitted_at) for row in rows(0, 10)] + [state])
        assert wait_until(lambda: emulator.stats()["faults_served"] == 1)  # the request is being held
        released = cli.next_message(time.monotonic() + DEADLINE_SECONDS, "STATE")
        log = emulator.requests_log()
        assert released == with_stats(state, 10)
        assert [(entry["path"], entry["status"], entry["items"]) for entry in log] == [("/api/identify", 200, 10)]
    finally:
        cli.close_stdin()
        result = cli.finish()
    assert result.returncode == 0
    assert " 1 requests, 0 retries," in result.final_log


def test_userpilot_bulk_state_waits_for_the_job_to_complete(tmp_path, make_emulator):
    """The job stays `processing` while polled; only after it completes may the STATE come out."""
    emulator = make_emulator(userpilot_job_polls=10**9)
    config = connector_config("userpilot", emulator.url, mode="bulk", top={"flush_interval_seconds": 0.2})
    cli = LiveCli(write_args(tmp_path, config, configured_catalog([USERS])))
    try:
        batch = rows(0, 20)
        state = state_message(USERS, 20, 1, 20)
        cli.send([record_message(USERS, row.data, row.emitted_at) for row in batch] + [state])
        # The job was created and has been polled 10 times: the connector is waiting on it.
        assert wait_until(lambda: emulator.stats()["by_route"].get(JOB_ROUTE, 0) >= 10)
        assert cli.next_message(time.monotonic() + 0.3, "STATE") is None
        assert emulator.accepted("userpilot") == []

        emulator.userpilot_job_polls = 1  # the next poll completes the job
        released = cli.next_message(time.monotonic() + DEADLINE_SECONDS, "STATE")
        assert released == with_stats(state, 20)
        assert emulator.accepted("userpilot", "bulk") == [payloads.userpilot_bulk(row) for row in batch]
    finally:
        cli.close_stdin()
        result = cli.finish()
    assert result.returncode == 0
    assert result.states == [with_stats(state, 20)]
    assert emulator.stats()["userpilot_overlapping_jobs"] == 0


def test_global_and_legacy_states_count_every_stream(tmp_path, emulator):
    users, contacts = rows(0, 6), rows(6, 4, CONTACTS)
    invalid = {"user_id": "u-bad", "seats": "many"}
    global_state = {
        "type": "STATE",
        "state": {
            "type": "GLOBAL",
            "global": {
                "shared_state": {"lsn": 42},
                "stream_states": [
                    {"stream_descriptor": {"name": "users", "namespace": "crm"}, "stream_state": {"c": 6}},
                    {"stream_descriptor": {"name": "contacts"}, "stream_state": {"c": 4}},
                ],
            },
            "sourceStats": {"recordCount": 11.0},
            "id": 901,
        },
    }
    legacy_state = {"type": "STATE", "state": {"data": {"users": {"cursor": 9}}, "id": 902}}
    messages = (
        [record_message(USERS, row.data, row.emitted_at) for row in users[:3]]
        + [record_message(CONTACTS, row.data, row.emitted_at) for row in contacts]
        + [record_message(USERS, invalid, EMITTED_AT[0])]
        + [record_message(USERS, row.data, row.emitted_at) for row in users[3:]]
        + [global_state]
        + [record_message(USERS, row.data, row.emitted_at) for row in rows(20, 2)]
        + [legacy_state]
    )
    config = connector_config("thrivestack", emulator.url)
    result = run_cli(write_args(tmp_path, config, configured_catalog()), write_messages(tmp_path / "in.jsonl", messages))
    assert result.returncode == 0
    assert result.states == [with_stats(global_state, 10, 1), with_stats(legacy_state, 2)]
    assert len(emulator.accepted("thrivestack")) == 12
