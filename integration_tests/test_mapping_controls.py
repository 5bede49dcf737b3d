"""Mapping controls end to end: dry run, field_mapping / exclude_fields / unmapped_fields, and
`check` refusing a mapping target the vendor does not have. The CLI runs as a process against
the vendor emulator."""

from __future__ import annotations

import json
import re

from integration_tests.cli import (
    EMITTED_AT,
    EMITTED_AT_ISO,
    USERS,
    build_scenario,
    configured_catalog,
    connector_config,
    free_port,
    record_message,
    run_cli,
    state_message,
    write_args,
    write_json,
    write_messages,
)


def test_dry_run_sends_nothing_and_logs_preview_and_summary(tmp_path, emulator):
    scenario = build_scenario(60, 10)  # row 5 fails the schema, row 7 has no id
    config = connector_config("crowdpower", emulator.url, top={"dry_run": True, "dry_run_preview_count": 3})
    result = run_cli(write_args(tmp_path, config, configured_catalog()), scenario.write(tmp_path / "in.jsonl"))

    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.traces == []
    assert emulator.stats()["requests"] == 0
    # no STATE: nothing was sent, so the source's checkpoint must not move
    assert result.states == []
    previews = [text for text in result.logs("INFO") if text.startswith("dry run payload ")]
    assert len(previews) == 3
    first = scenario.valid[0]
    assert previews[0].startswith(f"dry run payload 1 (record {first.position} of stream 'crm.users'): ")
    payload = json.loads(previews[0].split("): ", 1)[1])
    assert payload["user_id"] == first.data["user_id"] and payload["email"] == first.data["email"]
    summary = [text for text in result.logs("INFO") if text.startswith("dry run summary:")]
    assert len(summary) == 1
    valid, rejected = len(scenario.valid), len(scenario.invalid)
    assert f"60 records seen, {valid} valid, {rejected} rejected" in summary[0]
    assert "1 x neither a user id nor an email" in summary[0]
    assert "batches would be sent" in summary[0]
    assert f"; {len(scenario.states)} STATE messages withheld, so the source's checkpoint does not move" in summary[0]
    assert any(re.match(r"stream 'crm\.users': 30 read, \d+ valid \(dry run: not sent\), \d+ rejected", t) for t in result.logs("INFO"))
    assert "0 requests" in result.final_log


def test_dry_run_opens_no_connection(tmp_path):
    """Nothing listens at the base_url: a real run would fail; a dry run never connects."""
    scenario = build_scenario(10, 5, schema_invalid=lambda i: False, no_id=lambda i: False)
    config = connector_config("thrivestack", f"http://127.0.0.1:{free_port()}", top={"dry_run": True})
    config["max_retries"] = 0
    result = run_cli(write_args(tmp_path, config, configured_catalog()), scenario.write(tmp_path / "in.jsonl"))
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.traces == []
    assert result.states == []
    assert len([t for t in result.logs("INFO") if t.startswith("dry run payload ")]) == 5


def _rows():
    return [
        {"user_id": "u1", "email": "old@x.io", "profile": {"mail": "new@x.io", "age": 41}, "tier": "pro", "password": "p"},
        {"user_id": "u2", "profile": {"age": 7}, "tier": None, "plan": "x", "password": "q"},
    ]


def _run_mapped(tmp_path, vendor, emulator, top):
    rows = _rows()
    messages = [record_message(USERS, data, EMITTED_AT[0]) for data in rows]
    messages.append(state_message(USERS, 2, 1, 2))
    config = connector_config(vendor, emulator.url, top=top)
    result = run_cli(
        write_args(tmp_path, config, configured_catalog([USERS])), write_messages(tmp_path / "in.jsonl", messages)
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.traces == []
    assert result.states[0]["state"]["destinationStats"] == {"recordCount": 2.0, "rejectedRecordCount": 0.0}
    return emulator.accepted(vendor)


def test_field_mapping_sends_exactly_the_mapped_payloads(tmp_path, emulator):
    top = {
        "field_mapping": [
            {"source": "profile.mail", "target": "email"},
            {"source": "tier", "target": "custom_attributes.plan_tier"},
        ],
        "exclude_fields": ["password"],
    }
    assert _run_mapped(tmp_path, "crowdpower", emulator, top) == [
        {
            "user_id": "u1",
            "email": "new@x.io",
            "custom_attributes": {"email": "old@x.io", "profile_age": 41, "plan_tier": "pro"},
            "update_session": False,
        },
        {"user_id": "u2", "custom_attributes": {"profile_age": 7, "plan": "x"}, "update_session": False},
    ]


def test_field_mapping_with_unmapped_drop(tmp_path, emulator):
    top = {
        "field_mapping": [{"source": "profile.age", "target": "traits.age"}],
        "unmapped_fields": "drop",
    }
    assert _run_mapped(tmp_path, "thrivestack", emulator, top) == [
        {"user_id": "u1", "traits": {"email": "old@x.io", "age": 41}, "timestamp": EMITTED_AT_ISO[0]},
        {"user_id": "u2", "timestamp": EMITTED_AT_ISO[0], "traits": {"age": 7}},
    ]


def test_check_refuses_an_impossible_target(tmp_path, emulator):
    config = connector_config(
        "crowdpower", emulator.url, top={"field_mapping": [{"source": "sex", "target": "gender"}]}
    )
    result = run_cli(["check", "--config", str(write_json(tmp_path / "config.json", config))])
    assert result.returncode == 0
    statuses = [m["connectionStatus"] for m in result.messages if m["type"] == "CONNECTION_STATUS"]
    assert len(statuses) == 1 and statuses[0]["status"] == "FAILED"
    assert statuses[0]["message"].startswith(
        "Invalid configuration: field_mapping target 'gender' does not exist for CrowdPower: use one of its fields ("
    )
    assert "custom_attributes.<key>" in statuses[0]["message"]
    assert emulator.stats()["requests"] == 0
