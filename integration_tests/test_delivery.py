"""Delivery through trouble (issue 4): retried faults, an outage past the retry budget, rows the
vendor refuses inside a batch, and a request that hangs past the read timeout."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest

from integration_tests import payloads
from integration_tests.cli import (
    EMITTED_AT,
    USERS,
    LiveCli,
    build_scenario,
    configured_catalog,
    connector_config,
    run_cli,
    wait_until,
    record_message,
    state_message,
    write_args,
    write_messages,
)

FAULTS = [
    {"status": 429, "headers": {"Retry-After": "0"}},
    {"status": 503},
    {"drop": True},
    {"status": 500, "body": {"success": False, "message": "boom"}},
    {"status": 429, "headers": {"Retry-After": "0"}},
    {"drop": True},
    {"status": 503, "headers": {"Retry-After": "0"}},
    {"status": 502},
]
FAULT_STATUSES = {"429": 2, "503": 2, "dropped": 2, "500": 1, "502": 1}

# vendor, mode, options, path the faults go to
FAULT_CASES = [
    pytest.param("thrivestack", None, {}, "/api/identify", id="thrivestack"),
    pytest.param("crowdpower", None, {}, "/customers/bulk", id="crowdpower"),
    pytest.param("zaius", None, {}, "/v3/profiles", id="zaius"),
    pytest.param("userpilot", "bulk", {"mode": "bulk"}, "/v1/users/bulk_identify", id="userpilot-bulk"),
]


def ids(vendor, items) -> Counter:
    return Counter(payloads.identity(vendor)(item) for item in items)


def expected_ids(vendor, mode, rows) -> Counter:
    return ids(vendor, [payloads.EXPECTED[(vendor, mode)](row) for row in rows])


@pytest.mark.parametrize("vendor, mode, options, path", FAULT_CASES)
def test_retried_faults_deliver_every_record_and_are_counted(tmp_path, make_emulator, vendor, mode, options, path):
    # Every 429 here is an injected one: the Zaius rate limit is lifted (test_write keeps it).
    emulator = make_emulator(zaius_rate_per_second=1000)
    emulator.inject(FAULTS, path=path)
    scenario = build_scenario(2000, 250)
    config = connector_config(vendor, emulator.url, **options, top={"max_retries": 10})
    result = run_cli(write_args(tmp_path, config, configured_catalog()), scenario.write(tmp_path / "in.jsonl"))

    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.traces == []
    assert result.states == scenario.expected_states
    # Faults are answered instead of the vendor (nothing accepted): every record exactly once.
    assert ids(vendor, emulator.accepted(vendor, mode)) == expected_ids(vendor, mode, scenario.valid)

    stats = emulator.stats()
    assert stats["faults_served"] == len(FAULTS)
    failed = {status: n for status, n in stats["by_status"].items() if status not in ("200", "202")}
    assert failed == FAULT_STATUSES
    retry_logs = [text for text in result.logs("WARN") if re.search(r"; retry \d+ of 10 in ", text)]
    assert len(retry_logs) == len(FAULTS)
    requests = stats["requests"]
    assert f" {requests} requests, {len(FAULTS)} retries, 2 rate-limited (429);" in result.final_log


def test_an_outage_past_the_retry_budget_stops_with_a_transient_error_and_true_states(tmp_path, emulator):
    scenario = build_scenario(4000, 500, streams=(USERS,))
    half = scenario.state_positions[3] + 1  # 2,000 records and their 4 STATEs
    config = connector_config("thrivestack", emulator.url, top={"max_retries": 2, "flush_interval_seconds": 0.2})
    cli = LiveCli(write_args(tmp_path, config, configured_catalog([USERS])))
    try:
        cli.send(scenario.messages[:half])
        for number in range(4):
            assert cli.next_message(time.monotonic() + 20, "STATE") == scenario.expected_state(number)
        emulator.inject([{"status": 503}] * 40, path="/api/identify")  # the vendor goes down
        cli.send(scenario.messages[half:])
        cli.close_stdin()
    finally:
        result = cli.finish()

    assert result.returncode == 1
    assert [m["type"] for m in result.messages].count("TRACE") == 1
    error = result.traces[0]["trace"]["error"]
    assert error["failure_type"] == "transient_error"
    assert re.fullmatch(
        r"Thrivestack still failing after 3 attempt\(s\) over \d+\.\ds: Thrivestack answered 503", error["message"]
    ), error["message"]
    # Only the STATEs of the first half came out, and each is true.
    assert result.states == [scenario.expected_state(n) for n in range(4)]
    accepted = ids("thrivestack", emulator.accepted("thrivestack"))
    assert set(accepted) == set(expected_ids("thrivestack", None, [r for r in scenario.rows[:2000] if r.kind == "valid"]))


POISONED = (17, 500, 983)
REFUSAL = {
    "thrivestack": "Thrivestack answered 400: events[0].user_id: rejected by the vendor",
    "zaius": "Zaius refused the row: Profile rejected by the vendor",
}


@pytest.mark.parametrize("vendor", ["thrivestack", "zaius"])
def test_three_poisoned_rows_in_a_thousand_cost_three_rows(tmp_path, emulator, vendor):
    """Thrivestack names no row (the batch is halved to find them); Zaius lists them by index."""
    scenario = build_scenario(
        1000, 1000, streams=(USERS,), schema_invalid=lambda i: False, no_id=lambda i: False,
        rejected_by_vendor=lambda i: i in POISONED,
    )
    emulator.poison_user_ids = {f"u{i:06d}" for i in POISONED}
    config = connector_config(vendor, emulator.url)
    result = run_cli(write_args(tmp_path, config, configured_catalog([USERS])), scenario.write(tmp_path / "in.jsonl"))

    assert result.returncode == 0
    assert result.states == [scenario.expected_state(0)]
    assert scenario.states[0][2] == {"recordCount": 997.0, "rejectedRecordCount": 3.0}
    delivered = [row for row in scenario.rows if row.index not in POISONED]
    assert ids(vendor, emulator.accepted(vendor)) == expected_ids(vendor, None, delivered)
    assert len(emulator.accepted(vendor)) == 997
    rejections = [text for text in result.logs("WARN") if text.startswith("rejected record")]
    assert rejections == [f"rejected record {i + 1} of stream 'crm.users': {REFUSAL[vendor]}" for i in POISONED]
    assert emulator.stats()["max_items_per_request"][
        "POST /api/identify" if vendor == "thrivestack" else "POST /v3/profiles"
    ] == (1000 if vendor == "thrivestack" else 500)
    assert "stream 'crm.users': 1000 read, 997 delivered, 3 rejected" in result.logs("INFO")[-2]


def test_a_request_hanging_past_the_read_timeout_is_retried_and_delivered(tmp_path, emulator):
    emulator.inject({"delay": 2.0}, path="/api/identify")
    scenario = build_scenario(400, 100, streams=(USERS,))
    config = connector_config(
        "thrivestack", emulator.url, top={"request_timeout_seconds": 0.5, "flush_interval_seconds": 60}
    )
    result = run_cli(write_args(tmp_path, config, configured_catalog([USERS])), scenario.write(tmp_path / "in.jsonl"))

    assert result.returncode == 0
    assert result.states == scenario.expected_states
    timeouts = [text for text in result.logs("WARN") if "did not answer within the request timeout" in text]
    assert len(timeouts) == 1
    assert " 2 requests, 1 retries, 0 rate-limited (429)" in result.final_log
    # The held request is answered (and accepted) after the client gave up: at least once.
    assert wait_until(lambda: emulator.stats()["requests"] == 2)
    expected = expected_ids("thrivestack", None, scenario.valid)
    assert ids("thrivestack", emulator.accepted("thrivestack")) == expected + expected


NOT_IDENTIFIED = {"status": 200, "body": {"success": False, "response_id": "r-1", "message": "User(s) not identified"}}


def test_a_thrivestack_200_saying_success_false_is_not_counted_as_delivered(tmp_path, emulator):
    """Once: the batch is split and both halves go through. Every time: each row ends up alone,
    refused, and reported with the vendor's message; its STATE counts it as rejected."""
    emulator.inject(NOT_IDENTIFIED, path="/api/identify")
    scenario = build_scenario(1000, 1000, streams=(USERS,), schema_invalid=lambda i: False, no_id=lambda i: False)
    config = connector_config("thrivestack", emulator.url)
    result = run_cli(write_args(tmp_path, config, configured_catalog([USERS])), scenario.write(tmp_path / "in.jsonl"))

    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.states == scenario.expected_states
    assert ids("thrivestack", emulator.accepted("thrivestack")) == expected_ids("thrivestack", None, scenario.valid)
    assert emulator.stats()["requests"] == 3  # the refused 1,000, then two halves of 500

    emulator.reset()
    emulator.inject([NOT_IDENTIFIED] * 7, path="/api/identify")  # 4 rows: the batch, 2 halves, 4 singles
    scenario = build_scenario(
        4, 4, streams=(USERS,), schema_invalid=lambda i: False, no_id=lambda i: False, rejected_by_vendor=lambda i: True
    )
    result = run_cli(write_args(tmp_path, config, configured_catalog([USERS])), scenario.write(tmp_path / "in2.jsonl"))

    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert scenario.states[0][2] == {"recordCount": 0.0, "rejectedRecordCount": 4.0}
    assert result.states == scenario.expected_states
    assert emulator.accepted("thrivestack") == []
    reason = "Thrivestack answered 200 with success false: User(s) not identified"
    assert [text for text in result.logs("WARN") if text.startswith("rejected record")] == [
        f"rejected record {i} of stream 'crm.users': {reason}" for i in range(1, 5)
    ]
    assert "stream 'crm.users': 4 read, 0 delivered, 4 rejected" in result.logs("INFO")[-2]


def test_a_userpilot_bulk_post_that_times_out_is_waited_out_not_failed(tmp_path, make_emulator):
    """The POST's answer comes after the read timeout, but its job runs: the re-sent POST is
    answered 409 until that job ends by itself, then goes through. More 409s than max_retries
    allows: waiting for a job is not a failure."""
    emulator = make_emulator(userpilot_job_polls=1, userpilot_job_seconds=4.0)
    emulator.inject({"late": 1.0}, path="/v1/users/bulk_identify")
    scenario = build_scenario(300, 300, streams=(USERS,), schema_invalid=lambda i: False, no_id=lambda i: False)
    config = connector_config(
        "userpilot", emulator.url, mode="bulk", job_poll_interval_seconds=0.05,
        top={"request_timeout_seconds": 0.5, "max_retries": 1, "retry_wait_max_seconds": 0.2},
    )
    result = run_cli(write_args(tmp_path, config, configured_catalog([USERS])), scenario.write(tmp_path / "in.jsonl"))

    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.states == scenario.expected_states
    busy = [text for text in result.logs("WARN") if "a bulk job is already running; waiting" in text]
    assert len(busy) >= 2 and emulator.stats()["by_status"]["409"] == len(busy)
    # The timed-out job and the re-sent one both completed: every row, twice (at least once).
    expected = expected_ids("userpilot", "bulk", scenario.valid)
    assert ids("userpilot", emulator.accepted("userpilot", "bulk")) == expected + expected


def test_a_zaius_field_missing_from_the_account_schema_costs_only_its_rows(tmp_path, make_emulator):
    """ODP takes only fields that exist in the account's schema and names each profile it refuses
    (400 detail.invalids): those rows are rejected with ODP's words, the rest are delivered, and
    the STATE's counts say so."""
    emulator = make_emulator(zaius_custom_fields={"plan"})
    rows = [{"user_id": f"u{i}", "email": f"user{i}@example.com", "plan": "pro"} for i in range(6)]
    for i in (1, 4):
        rows[i]["lifetime_value"] = 120.5
    messages = [record_message(USERS, data, EMITTED_AT[0]) for data in rows] + [state_message(USERS, 6, 1, 6)]
    config = connector_config("zaius", emulator.url)
    result = run_cli(
        write_args(tmp_path, config, configured_catalog([USERS])), write_messages(tmp_path / "in.jsonl", messages)
    )

    assert result.returncode == 0
    assert [state["state"]["destinationStats"] for state in result.states] == [
        {"recordCount": 4.0, "rejectedRecordCount": 2.0}
    ]
    delivered = sorted(profile["attributes"]["customer_id"] for profile in emulator.accepted("zaius"))
    assert delivered == ["u0", "u2", "u3", "u5"]
    reason = "Zaius refused the row: Field `lifetime_value` does not exist in the account's schema"
    rejections = [text for text in result.logs("WARN") if text.startswith("rejected record")]
    assert rejections == [f"rejected record {n} of stream 'crm.users': {reason}" for n in (2, 5)]
