"""Rows as real Airbyte sources send them (a real-source audit's findings): CDC rows from a
database, deletes among them, and what must happen to each."""

from __future__ import annotations

from integration_tests.cli import connector_config, record_message, run_cli, write_args, write_messages

EMITTED_AT = 1732262400000
CDC_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": ["null", "number"], "airbyte_type": "integer"},
        "email": {"type": ["null", "string"]},
        "plan": {"type": ["null", "string"]},
        "_ab_cdc_lsn": {"type": ["null", "number"]},
        "_ab_cdc_updated_at": {"type": ["null", "string"]},
        "_ab_cdc_deleted_at": {"type": ["null", "string"]},
    },
}


def catalog(name: str, schema: dict, primary_key: list) -> dict:
    stream = {"name": name, "json_schema": schema, "supported_sync_modes": ["incremental"]}
    return {
        "streams": [
            {"stream": stream, "sync_mode": "incremental", "destination_sync_mode": "append_dedup", "primary_key": primary_key}
        ]
    }


def stream_state(name: str, cursor: int, count: int) -> dict:
    return {
        "type": "STATE",
        "state": {
            "type": "STREAM",
            "stream": {"stream_descriptor": {"name": name}, "stream_state": {"lsn": cursor}},
            "sourceStats": {"recordCount": float(count)},
        },
    }


def cdc_row(i: int) -> dict:
    """Every third row is a delete: Postgres CDC sends the key, nulls and `_ab_cdc_deleted_at`."""
    if i % 3 == 0:
        return {"id": i, "email": None, "plan": None, "_ab_cdc_lsn": 1000 + i,
                "_ab_cdc_updated_at": "2024-02-01T10:05:00Z", "_ab_cdc_deleted_at": "2024-02-01T10:05:00Z"}
    return {"id": i, "email": f"user{i}@example.com", "plan": "pro", "_ab_cdc_lsn": 1000 + i,
            "_ab_cdc_updated_at": "2024-02-01T10:05:00Z", "_ab_cdc_deleted_at": None}


def test_cdc_deletes_are_reported_not_upserted_and_cdc_columns_never_sent(tmp_path, emulator):
    """A third of the rows are deletes, far over max_rejected_ratio (0.1): deletes are rejected
    with their reason, but are no sign of a wrong mapping, so the sync goes on."""
    rows = [cdc_row(i) for i in range(1, 151)]
    messages = [record_message((None, "users"), row, EMITTED_AT) for row in rows] + [stream_state("users", 150, 150)]
    config = connector_config("crowdpower", emulator.url)
    result = run_cli(
        write_args(tmp_path, config, catalog("users", CDC_SCHEMA, [["id"]])), write_messages(tmp_path / "in.jsonl", messages)
    )

    assert result.returncode == 0, result.stdout
    live = [row for row in rows if row["_ab_cdc_deleted_at"] is None]
    accepted = emulator.accepted("crowdpower")
    assert [customer["user_id"] for customer in accepted] == [str(row["id"]) for row in live]
    assert all(not key.startswith("_ab_") for customer in accepted for key in customer.get("custom_attributes", {}))
    [state] = result.states
    assert state["state"]["destinationStats"] == {"recordCount": 100.0, "rejectedRecordCount": 50.0}
    warnings = result.logs("WARN")
    assert (
        "rejected record 3 of stream 'users': deleted in the source (_ab_cdc_deleted_at is set): an identify call "
        "cannot delete a user, and sending the row would create or refresh one"
    ) in warnings
    assert any(
        line.startswith("stream 'users': 150 read, 100 delivered, 50 rejected (top reasons: 50 x deleted in the source")
        for line in result.logs("INFO")
    )


def test_the_rejected_ratio_still_counts_other_rejections_beside_deletes(tmp_path, emulator):
    """Deletes leave the ratio; rows rejected for another reason still stop a sync gone wrong."""
    rows = []
    for i in range(1, 301):
        row = cdc_row(i)
        if i % 3 == 1:
            row["id"] = None  # no user id, no email: CrowdPower rejects it
            row["email"] = None
        rows.append(row)
    messages = [record_message((None, "users"), row, EMITTED_AT) for row in rows]
    config = connector_config("crowdpower", emulator.url)
    result = run_cli(
        write_args(tmp_path, config, catalog("users", CDC_SCHEMA, [["id"]])), write_messages(tmp_path / "in.jsonl", messages)
    )

    assert result.returncode == 1
    [trace] = result.traces
    assert "more than max_rejected_ratio (0.1)" in trace["trace"]["error"]["message"]


def test_upper_case_warehouse_columns_are_the_vendors_fields(tmp_path, emulator):
    """Snowflake and Oracle columns come in upper case (JDBC: single types, nulls where empty)."""
    column = {"type": "string"}
    schema = {"type": "object", "properties": {
        "ID": {"type": "number", "airbyte_type": "integer"}, "EMAIL": column, "FIRST_NAME": column,
        "LAST_NAME": column, "CREATED_AT": {"type": "string", "format": "date-time"}, "PLAN": column}}
    row = {"ID": 41, "EMAIL": "ada@example.com", "FIRST_NAME": "Ada", "LAST_NAME": None,
           "CREATED_AT": "2024-01-15T10:30:00Z", "PLAN": "pro"}
    messages = [record_message((None, "USERS"), row, EMITTED_AT), stream_state("USERS", 1, 1)]
    config = connector_config("crowdpower", emulator.url)
    result = run_cli(
        write_args(tmp_path, config, catalog("USERS", schema, [["ID"]])), write_messages(tmp_path / "in.jsonl", messages)
    )

    assert result.returncode == 0, result.stdout
    [customer] = emulator.accepted("crowdpower")
    assert customer["user_id"] == "41"
    assert customer["email"] == "ada@example.com"
    assert customer["first_name"] == "Ada"
    assert customer["signed_up_at"] == 1705314600
    assert customer["custom_attributes"] == {"PLAN": "pro"}
    [state] = result.states
    assert state["state"]["destinationStats"] == {"recordCount": 1.0, "rejectedRecordCount": 0.0}


def test_a_row_whose_user_id_is_null_is_rejected_not_sent_as_its_primary_key(tmp_path, emulator):
    """A subscriptions table keyed by its own `id`: row 7 without a user must not update user 7."""
    column = {"type": ["null", "string"]}
    schema = {"type": "object", "properties": {"id": {"type": "integer"}, "user_id": column, "email": column}}
    rows = [{"id": 6, "user_id": "u-100", "email": "paid@example.com"}, {"id": 7, "user_id": None, "email": "lead@example.com"}]
    messages = [record_message((None, "subscriptions"), row, EMITTED_AT) for row in rows]
    messages.append(stream_state("subscriptions", 7, 2))
    config = connector_config("thrivestack", emulator.url)
    result = run_cli(
        write_args(tmp_path, config, catalog("subscriptions", schema, [["id"]])),
        write_messages(tmp_path / "in.jsonl", messages),
    )

    assert result.returncode == 0, result.stdout
    assert [event["user_id"] for event in emulator.accepted("thrivestack")] == ["u-100"]
    assert (
        "rejected record 2 of stream 'subscriptions': no user id (user_id, userId or the stream's primary key)"
        in result.logs("WARN")
    )
    [state] = result.states
    assert state["state"]["destinationStats"] == {"recordCount": 1.0, "rejectedRecordCount": 1.0}


def test_empty_text_in_a_vendor_field_is_not_sent_over_what_the_vendor_has(tmp_path, emulator):
    """Databases often hold '' where a value is unknown: an empty email or phone would erase the
    vendor's, like a null; empty custom data is sent as it is."""
    column = {"type": "string"}
    schema = {"type": "object", "properties": {"id": {"type": "integer"}, "email": column, "phone": column, "plan": column}}
    row = {"id": 5, "email": "", "phone": "  ", "plan": ""}
    messages = [record_message((None, "users"), row, EMITTED_AT), stream_state("users", 5, 1)]
    config = connector_config("crowdpower", emulator.url)
    result = run_cli(write_args(tmp_path, config, catalog("users", schema, [["id"]])), write_messages(tmp_path / "in.jsonl", messages))

    assert result.returncode == 0, result.stdout
    [customer] = emulator.accepted("crowdpower")
    assert customer["user_id"] == "5"
    assert "email" not in customer and "phone" not in customer
    assert customer["custom_attributes"] == {"plan": ""}
