"""An identifier past 64 bits (a warehouse's NUMBER(38)) reaches the vendor digit for digit:
orjson reads it as a rounded float, so such a line is parsed again by the standard library."""

from __future__ import annotations

import json

from integration_tests.cli import (
    USERS,
    connector_config,
    run_cli,
    state_message,
    write_args,
)

BIG_ID = 123456789012345678901234567890
CATALOG = {
    "streams": [
        {
            "stream": {
                "name": USERS[1],
                "namespace": USERS[0],
                "json_schema": {"type": "object", "properties": {"user_id": {"type": "integer"}, "balance": {"type": "number"}}},
                "supported_sync_modes": ["full_refresh"],
            },
            "sync_mode": "full_refresh",
            "destination_sync_mode": "append_dedup",
        }
    ]
}


def write_input(path, rows) -> None:
    with open(path, "w") as handle:
        for row in rows:  # the standard library writes these integers exactly, as the platform does
            handle.write(json.dumps({"type": "RECORD", "record": {"namespace": USERS[0], "stream": USERS[1], "data": row, "emitted_at": 1732262400000}}) + "\n")
        handle.write(json.dumps(state_message(USERS, 1, 1, len(rows))) + "\n")


def test_an_identifier_past_64_bits_is_delivered_exactly(tmp_path, emulator):
    path = tmp_path / "in.jsonl"
    write_input(path, [{"user_id": BIG_ID, "balance": 1.5}, {"user_id": 7, "balance": 2e20}, {"user_id": 1.5e30}])
    result = run_cli(write_args(tmp_path, connector_config("thrivestack", emulator.url), CATALOG), path)

    assert result.returncode == 0, result.stderr
    assert [event["user_id"] for event in emulator.accepted("thrivestack")] == [str(BIG_ID), "7"]
    assert (  # a float that large is no exact identifier, however it is read
        "rejected record 3 of stream 'crm.users': user_id: a number too large to be an exact identifier (send it "
        "as text)"
    ) in result.logs("WARN")
    [state] = result.states
    assert state["state"]["destinationStats"] == {"recordCount": 2.0, "rejectedRecordCount": 1.0}

