"""`write` end to end, for every vendor and mode: the CLI as a process, the emulator as vendor.

Each run feeds thousands of records of two streams with STATEs and invalid rows, then checks
that every valid record arrived exactly as the mapping tables say, exactly once, in requests
within the vendor's caps; that every STATE came back unchanged but for destinationStats, in
order, and only once the emulator had accepted every record before it; that every invalid row
was reported with its stream, position and reason; and that the key never showed up.
"""

from __future__ import annotations

import pytest

from integration_tests import payloads
from integration_tests.cli import (
    CONTACTS,
    USERS,
    configured_catalog,
    build_scenario,
    connector_config,
    run_cli,
    write_args,
)

# (vendor, mode, vendor options, records, records per STATE block)
CASES = [
    pytest.param("thrivestack", None, {"auth_method": "bearer"}, 3000, 250, id="thrivestack-bearer"),
    pytest.param("thrivestack", None, {"auth_method": "x-api-key"}, 3000, 250, id="thrivestack-x-api-key"),
    pytest.param("crowdpower", None, {}, 3000, 250, id="crowdpower"),
    pytest.param("zaius", None, {}, 3000, 250, id="zaius"),
    # 12,500 rows: two bulk jobs (10,000 users per request at most).
    pytest.param("userpilot", "bulk", {"mode": "bulk"}, 12500, 1000, id="userpilot-bulk"),
    # Paced at ~9.5 requests/second for real: a few dozen rows.
    pytest.param("userpilot", "realtime", {"mode": "realtime"}, 60, 10, id="userpilot-realtime"),
]

# route -> (most items, most body bytes) one request may carry
CAPS = {
    "thrivestack": ("POST /api/identify", 1000, 2_000_000),
    "crowdpower": ("POST /customers/bulk", 500, 1_000_000),  # the emulator's (undocumented) limits
    "zaius": ("POST /v3/profiles", 500, None),
    "userpilot-bulk": ("POST /v1/users/bulk_identify", 10_000, None),
    "userpilot-realtime": ("POST /v1/identify", 1, None),
}
SUCCESS = {"thrivestack": "200", "crowdpower": "200", "zaius": "202"}


def label(stream) -> str:
    namespace, name = stream
    return f"{namespace}.{name}" if namespace else name


def expected_rejection_logs(scenario, vendor: str) -> list[str]:
    logs = []
    for row in scenario.invalid:
        reason = payloads.SCHEMA_REASON if row.kind == "schema" else payloads.NO_ID_REASON[vendor]
        logs.append(f"rejected record {row.position} of stream '{label(row.stream)}': {reason}")
    return logs


@pytest.mark.parametrize("vendor, mode, options, count, state_every", CASES)
def test_write_delivers_every_record_as_mapped(
    tmp_path, make_emulator, auth_styles, vendor, mode, options, count, state_every
):
    emulator = make_emulator(userpilot_job_polls=3)
    scenario = build_scenario(count, state_every)
    identity = payloads.identity(vendor)
    snapshots = []  # per STATE: the user ids the emulator had accepted when the STATE came out

    def at_message(message):
        if message["type"] == "STATE":
            snapshots.append({identity(item) for item in emulator.accepted(vendor, mode)})

    # Batches close on the caps and at the end of input only (a flush on a slow read would
    # change how many Userpilot jobs there are).
    config = connector_config(vendor, emulator.url, **options, top={"flush_interval_seconds": 60})
    result = run_cli(
        write_args(tmp_path, config, configured_catalog()), scenario.write(tmp_path / "input.jsonl"), at_message
    )

    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.traces == []
    assert result.stderr == b""  # everything the platform should see goes to stdout as messages

    # STATEs: all of them, in input order, unchanged but for destinationStats.
    assert result.states == scenario.expected_states
    for state in result.states:  # delivered + rejected = what the source sent since the last STATE
        stats = state["state"]["destinationStats"]
        assert stats["recordCount"] + stats["rejectedRecordCount"] == state["state"]["sourceStats"]["recordCount"]
    # ... and each only after the vendor had accepted every valid record before it.
    for number, accepted in enumerate(snapshots):
        rows = scenario.rows_before_state(number)
        before = {identity(payloads.EXPECTED[(vendor, mode)](row)) for row in rows if row.kind == "valid"}
        assert before <= accepted, f"STATE {number + 1} came out before {len(before - accepted)} of its records"

    # Every valid record exactly once, exactly as mapped.
    expected = {}
    for row in scenario.valid:
        item = payloads.EXPECTED[(vendor, mode)](row)
        expected[identity(item)] = item
    accepted = emulator.accepted(vendor, mode)
    assert len(accepted) == len(scenario.valid) == len(expected)
    assert {identity(item): item for item in accepted} == expected

    # Requests within the caps; no request refused (no 400 for size, no 429, no 409).
    stats = emulator.stats()
    key = vendor if mode is None else f"{vendor}-{mode}"
    route, max_items, max_bytes = CAPS[key]
    assert 1 <= stats["max_items_per_request"][route] <= max_items
    if max_bytes is not None:
        assert stats["max_body_bytes"][route] <= max_bytes
    if vendor == "userpilot":
        assert set(stats["by_status"]) <= {"200", "202"}
        assert stats["userpilot_overlapping_jobs"] == 0
        assert stats["missing_api_version"] == 0
        if mode == "realtime":
            assert stats["by_route"] == {route: len(scenario.valid)}
        else:  # two jobs, one at a time, each polled until completed (on the third poll)
            assert stats["by_route"] == {route: 2, "GET /v1/background_jobs/{job_id}": 6}
            assert stats["by_status"] == {"202": 2, "200": 6}
    else:
        assert set(stats["by_status"]) == {SUCCESS[vendor]}
        assert stats["accepted_count"][vendor] == len(scenario.valid)
    assert stats["auth_failures"] == 0
    if vendor == "thrivestack":  # the configured header style, on every request
        assert set(auth_styles) == {options["auth_method"]}

    # Rejections: one WARN per invalid row with stream, position and reason; a summary per stream.
    rejection_logs = [text for text in result.logs("WARN") if text.startswith("rejected record")]
    assert rejection_logs == expected_rejection_logs(scenario, vendor)
    for stream in (USERS, CONTACTS):
        rows = [row for row in scenario.rows if row.stream == stream]
        rejected = [row for row in rows if row.kind != "valid"]
        summary = [text for text in result.logs("INFO") if text.startswith(f"stream '{label(stream)}':")]
        assert len(summary) == 1
        assert summary[0].startswith(
            f"stream '{label(stream)}': {len(rows)} read, {len(rows) - len(rejected)} delivered, {len(rejected)} rejected"
        )
    assert " 0 retries, 0 rate-limited (429); 0 malformed input lines" in result.final_log
    assert f"write finished: {count} records in " in result.final_log
