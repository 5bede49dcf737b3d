"""Validation as Airbyte's type system means it: a null passes any declared type (JDBC sources
declare single types and send null for empty columns), and where jsonschema-rs and the reference
jsonschema disagree about a record (ECMA-262 regex rules in `pattern`), jsonschema decides."""

from __future__ import annotations

import json

from integration_tests.cli import connector_config, run_cli, state_message, write_args

STREAM = ("public", "customers")


def catalog(properties: dict) -> dict:
    return {
        "streams": [
            {
                "stream": {
                    "name": STREAM[1],
                    "namespace": STREAM[0],
                    "json_schema": {"type": "object", "properties": properties},
                    "supported_sync_modes": ["full_refresh", "incremental"],
                },
                "sync_mode": "incremental",
                "destination_sync_mode": "append_dedup",
                "primary_key": [["user_id"]],
            }
        ]
    }


def write_input(path, rows: list[str]) -> None:
    """`rows` as JSON text, so an integer past 64 bits stays digit for digit."""
    with open(path, "w") as handle:
        for row in rows:
            handle.write(
                '{"type":"RECORD","record":{"namespace":"%s","stream":"%s","data":%s,"emitted_at":1732262400000}}\n'
                % (STREAM[0], STREAM[1], row)
            )
        handle.write(json.dumps(state_message(STREAM, 1, 1, len(rows))) + "\n")


# As source-postgres declares a table read with CDC: single types, never ["null", ...].
POSTGRES_CDC = {
    "user_id": {"type": "number", "airbyte_type": "integer"},
    "email": {"type": "string"},
    "phone": {"type": "string"},
    "age": {"type": "number", "airbyte_type": "integer"},
    "signed_up": {"type": "string", "format": "date"},
    "active": {"type": "boolean"},
    "address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string"}}},
    "tags": {"type": "array", "items": {"type": "string"}},
    "_ab_cdc_lsn": {"type": "number"},
    "_ab_cdc_updated_at": {"type": "string"},
    "_ab_cdc_deleted_at": {"type": "string"},
}
BIG_ID = 123456789012345678901234567890  # a NUMBER(38) key: orjson rounds it, so its line is read again


def cdc_row(user_id, phone=None) -> str:
    return json.dumps(
        {
            "user_id": user_id,
            "email": f"user{user_id}@example.com",
            "phone": phone,
            "age": None,
            "signed_up": None,
            "active": None,
            "address": {"city": None, "zip": "02101"},
            "tags": ["a"],
            "_ab_cdc_lsn": 27000000 + (user_id % 1000),
            "_ab_cdc_updated_at": "2024-01-15T10:30:00Z",
            "_ab_cdc_deleted_at": None,
        }
    )


def test_nulls_in_columns_declared_with_a_single_type_are_delivered(tmp_path, emulator):
    """A Postgres CDC sync: every live row has `_ab_cdc_deleted_at: null`, and empty columns are
    null. Before, each was rejected ('schema: $._ab_cdc_deleted_at: expected string') and the sync
    failed on max_rejected_ratio."""
    rows = [cdc_row(i, phone=None if i % 2 else f"+1617555{i:04d}") for i in range(1, 151)]
    rows.append(cdc_row(BIG_ID))
    rows.append(cdc_row(151, phone=6175550000))  # a number where text is declared: still rejected
    path = tmp_path / "in.jsonl"
    write_input(path, rows)
    result = run_cli(write_args(tmp_path, connector_config("thrivestack", emulator.url), catalog(POSTGRES_CDC)), path)

    assert result.returncode == 0, result.logs()
    events = emulator.accepted("thrivestack")
    assert [event["user_id"] for event in events] == [str(i) for i in range(1, 151)] + [str(BIG_ID)]
    assert all(value is not None for event in events for value in event["traits"].values())  # nulls are never sent
    assert result.logs("WARN") == ["rejected record 152 of stream 'public.customers': schema: $.phone: expected string or null"]
    [state] = result.states
    assert state["state"]["destinationStats"] == {"recordCount": 151.0, "rejectedRecordCount": 1.0}


def test_a_record_jsonschema_finds_valid_is_delivered_though_jsonschema_rs_does_not(tmp_path, emulator):
    """`\\d` is any Unicode digit to jsonschema (Python's re) and ASCII only to jsonschema-rs
    (ECMA-262): the Arabic-Indic digits of row 1 match `^\\d{5}$` by the reference. Before, the
    record was rejected as 'invalid by the stream schema'."""
    properties = {"user_id": {"type": "string"}, "zip": {"type": "string", "pattern": "^\\d{5}$"}}
    rows = [json.dumps({"user_id": "u1", "zip": "٠٢١٠١"}), json.dumps({"user_id": "u2", "zip": "ABCDE"})]
    path = tmp_path / "in.jsonl"
    write_input(path, rows)
    config = connector_config("thrivestack", emulator.url, top={"max_rejected_ratio": 1})
    result = run_cli(write_args(tmp_path, config, catalog(properties)), path)

    assert result.returncode == 0, result.logs()
    [event] = emulator.accepted("thrivestack")
    assert event["user_id"] == "u1" and "٠٢١٠١" in json.dumps(event, ensure_ascii=False)
    assert result.logs("WARN") == [
        "rejected record 2 of stream 'public.customers': schema: $.zip: does not match the schema's pattern"
    ]
    [state] = result.states
    assert state["state"]["destinationStats"] == {"recordCount": 1.0, "rejectedRecordCount": 1.0}
