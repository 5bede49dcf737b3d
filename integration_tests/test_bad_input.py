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


def test_records_and_states_of_another_namespace_are_not_taken_for_the_catalogs_stream(tmp_path, emulator):
    """The catalog has `crm.users`; `sales.users` is another stream (only a missing namespace
    matches by name), so its records are rejected as unknown, never upserted as crm's users."""
    sales_users = ("sales", USERS[1])
    rows = [record_data(i) for i in range(2)]
    messages = [record_message(sales_users, row, 1732262400000) for row in rows] + [state_message(sales_users, 2, 1, 2)]
    path = write_messages(tmp_path / "in.jsonl", messages)
    config = connector_config("thrivestack", emulator.url)
    result = run_cli(write_args(tmp_path, config, configured_catalog([USERS])), path)

    assert result.returncode == 0
    assert emulator.accepted("thrivestack") == []
    assert result.logs("WARN")[:2] == [
        f"rejected record {n} of stream 'sales.users': stream is not in the configured catalog" for n in (1, 2)
    ]
    [state] = result.states
    assert state["state"]["destinationStats"] == {"recordCount": 0.0, "rejectedRecordCount": 2.0}


def test_an_empty_namespace_is_no_namespace_in_the_catalog_records_and_states(tmp_path, emulator):
    """Sources write `""` for no namespace: a catalog stream with `""`, records naming `crm` or
    none, and a STATE with `""` all meet as one stream, so the STATE counts all its records."""
    catalog = configured_catalog([USERS])
    catalog["streams"][0]["stream"]["namespace"] = ""
    rows = [record_data(i) for i in range(3)]
    messages = [record_message(USERS, rows[0], 1732262400000)]
    messages += [record_message((None, USERS[1]), row, 1732262400000) for row in rows[1:]]
    state = state_message((None, USERS[1]), 3, 1, 3)
    state["state"]["stream"]["stream_descriptor"]["namespace"] = ""
    path = write_messages(tmp_path / "in.jsonl", messages + [state])
    result = run_cli(write_args(tmp_path, connector_config("thrivestack", emulator.url), catalog), path)

    assert result.returncode == 0
    assert [event["user_id"] for event in emulator.accepted("thrivestack")] == [user_key_of(row) for row in rows]
    [echoed] = result.states
    assert echoed["state"]["destinationStats"] == {"recordCount": 3.0, "rejectedRecordCount": 0.0}


def test_blank_lines_are_not_malformed_messages(tmp_path, emulator):
    rows = [record_data(i) for i in range(2)]
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b"\n"
        + json.dumps(record_message(USERS, rows[0], 1732262400000)).encode()
        + b"\r\n\r\n  \n"
        + json.dumps(record_message(USERS, rows[1], 1732262400000)).encode()
        + b"\n\n"
    )
    result = run_cli(write_args(tmp_path, connector_config("thrivestack", emulator.url), configured_catalog([USERS])), path)

    assert result.returncode == 0
    assert len(emulator.accepted("thrivestack")) == 2
    assert not any(text.startswith("input line") for text in result.logs("WARN"))
    assert result.final_log.endswith("; 0 malformed input lines")


def malformed_then_valid(path, malformed: int, valid: int):
    rows = [record_data(i) for i in range(valid)]
    with open(path, "wb") as handle:
        handle.write(b'{"type": "RECORD", "record": "no object"}\n' * malformed)
        for row in rows:
            handle.write(json.dumps(record_message(USERS, row, 1732262400000)).encode() + b"\n")
    return path


def test_malformed_lines_count_toward_the_rejected_ratio_as_read_and_rejected(tmp_path, emulator):
    """150 malformed lines alone: 150 of 150 rejected, over the default 0.1, so the sync stops."""
    path = malformed_then_valid(tmp_path / "in.jsonl", 150, 0)
    result = run_cli(write_args(tmp_path, connector_config("thrivestack", emulator.url), configured_catalog([USERS])), path)

    assert result.returncode == 1
    [trace] = result.traces
    assert trace["trace"]["error"]["failure_type"] == "config_error"
    assert trace["trace"]["error"]["message"].startswith("100 of the first 100 records were rejected")


def test_malformed_lines_and_records_make_one_ratio(tmp_path, emulator):
    """60 malformed lines then 100 records: at most 60 of 160, under 0.5, so the sync goes on
    (counting the lines as rejected but not as read would make it 60 of 100 and stop it)."""
    path = malformed_then_valid(tmp_path / "in.jsonl", 60, 100)
    config = connector_config("thrivestack", emulator.url, top={"max_rejected_ratio": 0.5})
    result = run_cli(write_args(tmp_path, config, configured_catalog([USERS])), path)

    assert result.returncode == 0, result.traces
    assert len(emulator.accepted("thrivestack")) == 100
    assert result.final_log.endswith("; 60 malformed input lines")


def test_a_record_as_large_as_a_request_may_be_is_sent_and_one_byte_more_is_rejected(tmp_path, emulator):
    """Thrivestack takes 2,000,000 bytes a request: an event of 1,999,998 bytes (with `[` and `]`)
    goes alone, and is accepted; one of 1,999,999 bytes could never go, so it is rejected."""
    def event_of(blob_length):
        return {"user_id": "u1", "traits": {"blob": "x" * blob_length}, "timestamp": "2024-11-22T08:00:00.000Z"}

    fitting = 1_999_998 - len(json.dumps(event_of(0), separators=(",", ":")))
    assert len(json.dumps(event_of(fitting), separators=(",", ":"))) == 1_999_998
    records = [{"user_id": "u1", "blob": "x" * fitting}, {"user_id": "u2", "blob": "x" * (fitting + 1)}]
    path = write_messages(tmp_path / "in.jsonl", [record_message(USERS, data, 1732262400000) for data in records])
    result = run_cli(write_args(tmp_path, connector_config("thrivestack", emulator.url), configured_catalog([USERS])), path)

    assert result.returncode == 0
    assert emulator.accepted("thrivestack") == [event_of(fitting)]
    assert emulator.stats()["requests"] == 1
    assert result.logs("WARN") == [
        "rejected record 2 of stream 'crm.users': too large: 2000001 bytes as a request of its own, over the "
        "vendor's 2000000 byte cap"
    ]
