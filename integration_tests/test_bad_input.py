"""Bad input loses nothing: malformed lines and records of unknown streams are counted and
reported, the sync goes on, and every STATE still accounts for every record sent to us."""

from __future__ import annotations

import json

from integration_tests.cli import (
    USERS,
    configured_catalog,
    connector_config,
    record_data,
    record_message,
    run_cli,
    state_message,
    user_key_of,
    write_args,
    write_messages,
)


def test_malformed_lines_and_unknown_streams_are_reported_and_the_rest_delivered(tmp_path, emulator):
    rows = [record_data(i) for i in range(5)]
    lines = [record_message(USERS, rows[0], 1732262400000), record_message(USERS, rows[1], 1732262400000)]
    path = tmp_path / "in.jsonl"
    with open(path, "wb") as handle:
        for message in lines:
            handle.write(json.dumps(message).encode() + b"\n")
        handle.write(b"{not json at all\n")  # line 3
        handle.write(b'{"type": "RECORD", "record": "no object"}\n')  # line 4
        handle.write(json.dumps(record_message((None, "ghosts"), rows[2], 1732262400000)).encode() + b"\n")  # line 5
        handle.write(json.dumps(record_message(USERS, rows[3], 1732262400000)).encode() + b"\n")
        handle.write(json.dumps(state_message(USERS, 4, 1, 3)).encode() + b"\n")
    config = connector_config("thrivestack", emulator.url, top={"max_rejected_ratio": 1})
    result = run_cli(write_args(tmp_path, config, configured_catalog([USERS])), path)

    assert result.returncode == 0
    assert [event["user_id"] for event in emulator.accepted("thrivestack")] == [
        user_key_of(rows[0]),
        user_key_of(rows[1]),
        user_key_of(rows[3]),
    ]
    warnings = result.logs("WARN")
    assert (
        "input line 3 is not a valid Airbyte message (not valid JSON (unexpected character, expected a string key)); "
        "skipped and counted"
    ) in warnings
    assert (
        "input line 4 is not a valid Airbyte message (RECORD message without a 'record' object naming its stream); "
        "skipped and counted"
    ) in warnings
    assert "rejected record 1 of stream 'ghosts': stream is not in the configured catalog" in warnings
    [state] = result.states
    assert state["state"]["destinationStats"]["recordCount"] == 3.0
    assert state["state"]["destinationStats"]["rejectedRecordCount"] == 0.0
    assert "2 malformed input lines" in result.final_log


def test_a_record_line_that_is_not_json_is_its_streams_rejected_record(tmp_path, emulator):
    """Cut short, or carrying a byte that is not UTF-8: the line still names its stream, so it is
    that stream's rejected record and the STATE's destinationStats add up to the source's count
    (the platform compares them)."""
    rows = [record_data(i) for i in range(4)]
    good = [json.dumps(record_message(USERS, row, 1732262400000)).encode() for row in rows]
    path = tmp_path / "in.jsonl"
    with open(path, "wb") as handle:
        handle.write(good[0] + b"\n")
        handle.write(good[1][:80] + b"\n")  # line 2: cut short
        handle.write(good[2].replace(b"Ada", b"Ad\xe9", 1) + b"\n")  # line 3: Latin-1, not UTF-8
        handle.write(good[3] + b"\n")
        handle.write(json.dumps(state_message(USERS, 4, 1, 4)).encode() + b"\n")
    config = connector_config("thrivestack", emulator.url, top={"max_rejected_ratio": 1})
    result = run_cli(write_args(tmp_path, config, configured_catalog([USERS])), path)

    assert result.returncode == 0
    assert [event["user_id"] for event in emulator.accepted("thrivestack")] == [user_key_of(rows[0]), user_key_of(rows[3])]
    warnings = result.logs("WARN")
    assert "rejected record 2 of stream 'crm.users': not valid JSON (unexpected end of data)" in warnings
    assert (
        "rejected record 3 of stream 'crm.users': not valid JSON (str is not valid UTF-8: surrogates not "
        "allowed)"
    ) in warnings
    [state] = result.states
    assert state["state"]["destinationStats"] == {"recordCount": 2.0, "rejectedRecordCount": 2.0}
    assert "0 malformed input lines" in result.final_log


def test_a_failed_userpilot_bulk_job_stops_the_sync_naming_the_job(tmp_path, emulator):
    rows = [record_data(i) for i in range(3)]
    path = tmp_path / "in.jsonl"
    with open(path, "wb") as handle:
        for row in rows:
            handle.write(json.dumps(record_message(USERS, row, 1732262400000)).encode() + b"\n")
        handle.write(json.dumps(state_message(USERS, 3, 1, 3)).encode() + b"\n")
    emulator.inject({"job_fails": True})
    result = run_cli(write_args(tmp_path, connector_config("userpilot", emulator.url), configured_catalog([USERS])), path)

    assert result.returncode == 1
    assert result.states == []  # its records were never accepted, so the STATE is held back
    [trace] = result.traces
    error = trace["trace"]["error"]
    assert error["failure_type"] == "transient_error"
    assert error["message"].startswith("Userpilot bulk job bulk_identify:")
    assert error["message"].endswith(" failed")
    assert emulator.accepted("userpilot") == []


def test_a_state_without_the_catalogs_namespace_still_counts_the_records_of_its_stream(tmp_path, emulator):
    """Records and STATE without a namespace are matched to the catalog's `crm.users` the same
    way, so the STATE's destinationStats count the records it covers (the platform checks the sum)."""
    rows = [record_data(i) for i in range(3)]
    bare_users = (None, USERS[1])
    messages = [record_message(bare_users, row, 1732262400000) for row in rows] + [state_message(bare_users, 3, 1, 3)]
    path = write_messages(tmp_path / "in.jsonl", messages)
    result = run_cli(write_args(tmp_path, connector_config("thrivestack", emulator.url), configured_catalog([USERS])), path)

    assert result.returncode == 0
    assert len(emulator.accepted("thrivestack")) == 3
    [state] = result.states
    assert state["state"]["destinationStats"] == {"recordCount": 3.0, "rejectedRecordCount": 0.0}


def test_records_nested_too_deeply_are_rejected_and_the_rest_delivered(tmp_path, emulator):
    """950 levels parse (orjson allows 1,024) but are deeper than Python's recursion limit:
    mapping, or explaining a schema failure, must reject that record, not end the sync."""
    nested = "[" * 950 + "1" + "]" * 950
    invalid_deep = "[" * 950 + '"x"' + "]" * 950
    level = {"$ref": "#/definitions/level"}
    schema = {
        "type": "object",
        "definitions": {"level": {"type": ["array", "integer"], "items": level}},
        "properties": {"deep": level},
    }
    catalog = {"streams": [{"stream": {"name": "users", "json_schema": schema, "supported_sync_modes": ["full_refresh"]}, "sync_mode": "full_refresh", "destination_sync_mode": "append"}]}
    lines = [
        '{"type":"RECORD","record":{"stream":"users","data":{"user_id":"u1","deep":%s},"emitted_at":1732262400000}}' % nested,
        '{"type":"RECORD","record":{"stream":"users","data":{"user_id":"u2","deep":%s},"emitted_at":1732262400000}}' % invalid_deep,
        '{"type":"RECORD","record":{"stream":"users","data":{"user_id":"u3","deep":[[1]]},"emitted_at":1732262400000}}',
        json.dumps(state_message((None, "users"), 3, 1, 3)),
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    config = connector_config("thrivestack", emulator.url, top={"max_rejected_ratio": 1})
    result = run_cli(write_args(tmp_path, config, catalog), path)

    assert result.returncode == 0 and result.traces == []
    assert [event["user_id"] for event in emulator.accepted("thrivestack")] == ["u3"]
    warnings = result.logs("WARN")
    assert "rejected record 1 of stream 'users': a value is nested too deeply to map" in warnings
    assert "rejected record 2 of stream 'users': schema: invalid, and a value is nested too deeply to say where" in warnings
    [state] = result.states
    assert state["state"]["destinationStats"] == {"recordCount": 1.0, "rejectedRecordCount": 2.0}


def test_messages_with_fields_of_the_wrong_type_are_malformed_not_fatal(tmp_path, emulator):
    """Found by feeding every field of RECORD and STATE messages numbers, lists and objects:
    each of these ended the sync with a system error."""
    good = record_message((None, "users"), record_data(1, (None, "users")), 1732262400000)
    lines = [
        good,
        {"type": "STATE", "state": {"type": "STREAM", "stream": 1}},  # line 2
        {"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": [1]}}},  # line 3
        {"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "users", "namespace": [1]}}}},
        {"type": "RECORD", "record": {"stream": "users", "namespace": [1], "data": {"user_id": "u"}}},  # line 5
        {"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"}}, "destinationStats": 1}},
    ]
    path = write_messages(tmp_path / "in.jsonl", lines)
    catalog = configured_catalog([(None, "users")])
    config = connector_config("thrivestack", emulator.url, top={"max_rejected_ratio": 1})
    result = run_cli(write_args(tmp_path, config, catalog), path)

    assert result.returncode == 0 and result.traces == []
    assert len(emulator.accepted("thrivestack")) == 1
    warnings = result.logs("WARN")
    for expected in (
        "input line 2 is not a valid Airbyte message (STATE message of type STREAM without a stream_descriptor naming its stream)",
        "input line 3 is not a valid Airbyte message (STATE message of type STREAM without a stream_descriptor naming its stream)",
        "input line 4 is not a valid Airbyte message (STATE message whose stream_descriptor's namespace is not a string)",
        "input line 5 is not a valid Airbyte message (RECORD message whose namespace is not a string)",
    ):
        assert expected + "; skipped and counted" in warnings
    [state] = result.states  # its destinationStats, not an object, replaced by ours
    assert state["state"]["destinationStats"] == {"recordCount": 1.0, "rejectedRecordCount": 0.0}
    assert "4 malformed input lines" in result.final_log
