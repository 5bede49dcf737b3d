"""A write that cannot go on ends with one TRACE of the right failure type and exit code 1."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from integration_tests.cli import (
    API_KEY,
    USERS,
    build_scenario,
    configured_catalog,
    connector_config,
    free_port,
    run_cli,
    write_args,
    write_messages,
)

WRONG_KEY = "wrongPub9.wr0ngS3cretQ"


def only_trace(result) -> dict:
    assert result.returncode == 1
    assert len(result.traces) == 1
    assert result.messages[-1] is result.traces[0]  # the TRACE is the last word
    trace = result.traces[0]["trace"]
    assert trace["type"] == "ERROR"
    assert "internal_message" not in trace["error"]  # no stack trace: it is not our bug
    return trace["error"]


def test_overwrite_with_records_is_a_config_error_that_says_why(tmp_path, emulator):
    scenario = build_scenario(20, 10, streams=(USERS,))
    config = connector_config("thrivestack", emulator.url)
    result = run_cli(
        write_args(tmp_path, config, configured_catalog([USERS], sync_mode="overwrite")),
        scenario.write(tmp_path / "in.jsonl"),
    )
    assert only_trace(result) == {
        "failure_type": "config_error",
        "message": "stream 'users' asks for destination sync mode 'overwrite'. Identify calls upsert users and "
        "cannot delete the ones a source no longer has, so only append and append_dedup (both upsert) are "
        "supported; Clear data (overwrite without records) is accepted.",
    }
    assert result.states == []
    assert emulator.stats()["requests"] == 0


def test_clear_data_overwrite_without_records_echoes_its_states(tmp_path, emulator):
    """Airbyte's Clear data runs the destination with the streams set to overwrite, no records
    and STATEs whose stream_state is null (airbyte-platform's CatalogTransforms and
    EmptyAirbyteSource): the STATEs come back and nothing is sent."""
    reset = [
        {
            "type": "STATE",
            "state": {
                "type": "STREAM",
                "stream": {"stream_descriptor": {"name": "users"}, "stream_state": None},
                "sourceStats": {"recordCount": 0.0},
            },
        }
    ]
    config = connector_config("thrivestack", emulator.url)
    result = run_cli(
        write_args(tmp_path, config, configured_catalog([USERS], sync_mode="overwrite")),
        write_messages(tmp_path / "in.jsonl", reset),
    )
    assert result.returncode == 0 and result.traces == []
    assert [state["state"]["destinationStats"] for state in result.states] == [
        {"recordCount": 0.0, "rejectedRecordCount": 0.0}
    ]
    assert result.states[0]["state"]["stream"]["stream_state"] is None
    assert any("configured as overwrite: accepted for Airbyte's Clear data" in text for text in result.logs("WARN"))
    assert emulator.stats()["requests"] == 0


WRONG_KEY_TRACES = {
    "thrivestack": "Thrivestack rejected the API key (401): Access token missing or invalid",
    "crowdpower": "CrowdPower rejected the API key (401): Unauthenticated.",
    "zaius": "Zaius (Optimizely Data Platform) rejected the API key (403): Forbidden",
    "userpilot": "Userpilot rejected the API key (401): Unauthorized",
}


def test_a_refused_key_during_write_is_a_config_error(tmp_path, emulator):
    scenario = build_scenario(300, 100, streams=(USERS,))
    input_path = scenario.write(tmp_path / "in.jsonl")

    def write(vendor):
        folder = tmp_path / vendor
        folder.mkdir()
        config = connector_config(vendor, emulator.url, api_key=WRONG_KEY, top={"flush_interval_seconds": 60})
        return run_cli(write_args(folder, config, configured_catalog([USERS])), input_path, secrets=[WRONG_KEY])

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(WRONG_KEY_TRACES, pool.map(write, WRONG_KEY_TRACES)))
    for vendor, result in results.items():
        assert only_trace(result) == {"failure_type": "config_error", "message": WRONG_KEY_TRACES[vendor]}, vendor
        assert result.states == [], vendor  # nothing was delivered, so no STATE may say otherwise
    stats = emulator.stats()
    assert stats["accepted_count"] == {"thrivestack": 0, "crowdpower": 0, "zaius": 0, "userpilot": 0}
    # One batch per run (flushed at the end of input), refused once: 401/403 are not retried.
    assert stats["auth_failures"] == stats["requests"] == 4
    assert stats["by_route"] == {
        "POST /api/identify": 1,
        "POST /customers/bulk": 1,
        "POST /v3/profiles": 1,
        "POST /v1/users/bulk_identify": 1,
    }


def test_an_unreachable_vendor_during_write_is_a_transient_error_after_retries(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    scenario = build_scenario(50, 25, streams=(USERS,))
    config = connector_config("thrivestack", url, top={"max_retries": 2, "flush_interval_seconds": 60})
    result = run_cli(write_args(tmp_path, config, configured_catalog([USERS])), scenario.write(tmp_path / "in.jsonl"))
    error = only_trace(result)
    assert error["failure_type"] == "transient_error"
    assert re.fullmatch(
        rf"Thrivestack still failing after 3 attempt\(s\) over \d+\.\ds: cannot reach {re.escape(url)}: connection refused",
        error["message"],
    ), error["message"]
    retries = [text for text in result.logs("WARN") if text.startswith("cannot reach")]
    assert [re.sub(r" in [\d.]+s$", "", text) for text in retries] == [
        f"cannot reach {url}: connection refused; retry 1 of 2",
        f"cannot reach {url}: connection refused; retry 2 of 2",
    ]
    assert result.states == []
    assert " 3 requests, 2 retries, 0 rate-limited (429)" in result.final_log


def test_too_many_rejected_records_stop_the_sync_with_a_config_error(tmp_path, emulator):
    """Every third row has no user id: past max_rejected_ratio (0.1, after 100 rows) the mapping
    is likely wrong, and the sync says so instead of quietly dropping a third of the table."""
    scenario = build_scenario(
        300, 50, streams=(USERS,), schema_invalid=lambda i: False, no_id=lambda i: i % 3 == 0
    )
    config = connector_config("thrivestack", emulator.url, top={"flush_interval_seconds": 60})
    result = run_cli(write_args(tmp_path, config, configured_catalog([USERS])), scenario.write(tmp_path / "in.jsonl"))
    assert only_trace(result) == {
        "failure_type": "config_error",
        "message": "34 of the first 100 records were rejected, more than max_rejected_ratio (0.1); the mapping or "
        "the source is likely wrong. Top reasons: 34 x no user id (user_id, userId or the stream's primary key)",
    }
    assert result.states == []  # the first STATE's batch was never sent, so it never came out
    assert emulator.stats()["requests"] == 0


def test_a_key_pasted_with_spaces_is_masked_as_sent_when_a_vendor_echoes_it(tmp_path, emulator):
    """The key is sent stripped of the spaces around it, so that stripped form is what a vendor
    can echo: `write` masks it too, not only the key as written in the config."""
    emulator.inject({"status": 401, "body": {"message": f"unknown token {API_KEY}"}}, path="/api/identify")
    config = connector_config("thrivestack", emulator.url, api_key=f"  {API_KEY}\n")
    scenario = build_scenario(10, 10, streams=(USERS,))
    result = run_cli(write_args(tmp_path, config, configured_catalog([USERS])), scenario.write(tmp_path / "in.jsonl"))
    assert only_trace(result) == {
        "failure_type": "config_error",
        "message": "Thrivestack rejected the API key (401): unknown token ****",
    }
