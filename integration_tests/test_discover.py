"""Data activation end to end: `discover` as a process for every vendor, validated against the
Airbyte protocol, and `write` of streams that name a destination object and a matching key,
against the vendor emulator."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft7Validator

from integration_tests.cli import (
    EMITTED_AT,
    EMITTED_AT_ISO,
    connector_config,
    record_message,
    run_cli,
    state_message,
    write_args,
    write_json,
    write_messages,
)

VENDOR_CONFIGS = {
    "thrivestack": {},
    "crowdpower": {},
    "zaius": {},
    "zaius-custom-attribute": {"user_id_attribute": "account_key"},
    "zaius-no-user-id": {"user_id_attribute": ""},
    "userpilot-bulk": {"mode": "bulk"},
    "userpilot-realtime": {"mode": "realtime", "environment": "analytex-eu"},
}
EXPECTED_MATCHING_KEYS = {
    "thrivestack": [["user_id"]],
    "crowdpower": [["user_id"], ["email"]],
    "zaius": [["user_id"], ["customer_id"], ["email"], ["phone"]],
    "zaius-custom-attribute": [["user_id"], ["account_key"], ["email"], ["phone"]],
    "zaius-no-user-id": [["email"], ["phone"]],
    "userpilot-bulk": [["user_id"]],
    "userpilot-realtime": [["user_id"]],
}
# The protocol's DestinationOperation (airbyte-protocol: DestinationCatalog), as a JSON Schema.
DESTINATION_CATALOG_MESSAGE = {
    "type": "object",
    "required": ["type", "destination_catalog"],
    "additionalProperties": False,
    "properties": {
        "type": {"const": "DESTINATION_CATALOG"},
        "destination_catalog": {
            "type": "object",
            "required": ["operations"],
            "additionalProperties": False,
            "properties": {
                "operations": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["object_name", "sync_mode", "json_schema", "matching_keys"],
                        "additionalProperties": False,
                        "properties": {
                            "object_name": {"type": "string", "minLength": 1},
                            "sync_mode": {"enum": ["append", "overwrite", "append_dedup", "update", "soft_delete"]},
                            "json_schema": {"type": "object"},
                            "matching_keys": {
                                "type": "array",
                                "items": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                            },
                        },
                    },
                }
            },
        },
    },
}


def _vendor_config(case: str) -> dict:
    vendor = case.split("-")[0]
    return connector_config(vendor, _default_url(vendor), **VENDOR_CONFIGS[case])


def _default_url(vendor: str) -> str:
    return {
        "thrivestack": "https://api.app.thrivestack.ai",
        "crowdpower": "https://beacon.crowdpower.io",
        "zaius": "https://api.zaius.com",
        "userpilot": "https://analytex.userpilot.io",
    }[vendor]


def _discover(tmp_path, config: dict):
    return run_cli(["discover", "--config", str(write_json(tmp_path / "config.json", config))])


@pytest.mark.parametrize("case", sorted(VENDOR_CONFIGS))
def test_discover_prints_one_valid_destination_catalog(tmp_path, case):
    result = _discover(tmp_path, _vendor_config(case))
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert len(result.messages) == 1, result.messages  # exactly one message, nothing else on stdout
    message = result.messages[0]
    Draft7Validator(DESTINATION_CATALOG_MESSAGE).validate(message)
    operations = message["destination_catalog"]["operations"]
    assert [(op["object_name"], op["sync_mode"]) for op in operations] == [("user", "append_dedup")]
    for operation in operations:
        schema = operation["json_schema"]
        Draft7Validator.check_schema(schema)
        assert schema["type"] == "object" and schema["additionalProperties"] is True
        for name, prop in schema["properties"].items():
            assert prop.get("type") and prop.get("description"), name
        for key in operation["matching_keys"]:
            assert len(key) == 1 and key[0] in schema["properties"], key
        assert operation["matching_keys"] == EXPECTED_MATCHING_KEYS[case]


def test_discover_lists_each_vendors_own_fields(tmp_path):
    def properties(case):
        result = _discover(tmp_path, _vendor_config(case))
        return result.messages[0]["destination_catalog"]["operations"][0]["json_schema"]["properties"]

    thrivestack = properties("thrivestack")
    assert {"user_id", "email", "first_name", "enrichment_first_name", "enrichment_github_handle", "group_id"} <= set(
        thrivestack
    )
    assert "gender" not in thrivestack  # Thrivestack maps no gender
    zaius = properties("zaius")
    assert {"street1", "zip", "image_url", "customer_id", "dob_year", "gender", "postal_code"} <= set(zaius)
    assert zaius["dob_year"]["type"] == ["null", "integer"]
    assert set(properties("crowdpower")) == {
        "user_id", "email", "name", "first_name", "last_name", "phone", "ip", "created_at", "signed_up_at"
    }
    assert set(properties("userpilot-realtime")) == {"user_id", "company_id", "company_name", "created_at", "name", "email"}
    assert set(properties("userpilot-bulk")) == {"user_id", "company_id", "created_at", "name", "email"}


def test_discover_with_a_bad_config_is_a_config_error_trace(tmp_path):
    config = connector_config("zaius", "https://api.zaius.com", user_id_attribute=7)
    result = _discover(tmp_path, config)
    assert result.returncode == 1
    assert result.of_type("DESTINATION_CATALOG") == []
    errors = [trace["trace"]["error"] for trace in result.traces]
    assert len(errors) == 1 and errors[0]["failure_type"] == "config_error"
    # the connector's own words (the CDK's spec check would quote the whole vendor object)
    assert errors[0]["message"] == "Invalid configuration: user_id_attribute must be text (empty to not send the user id)"

    # a wrong value is never quoted
    config = connector_config("thrivestack", "https://api.app.thrivestack.ai")
    config["vendor"]["api_key"] = 12345
    result = _discover(tmp_path, config)
    errors = [trace["trace"]["error"] for trace in result.traces]
    assert len(errors) == 1 and errors[0]["failure_type"] == "config_error"
    assert "12345" not in result.stdout.decode()

    # past the spec, the connector's own checks
    config = connector_config("crowdpower", "http://beacon.crowdpower.io")
    result = _discover(tmp_path, config)
    assert result.returncode == 1 and result.of_type("DESTINATION_CATALOG") == []
    errors = [trace["trace"]["error"] for trace in result.traces]
    assert len(errors) == 1 and errors[0]["failure_type"] == "config_error"
    assert errors[0]["message"] == (
        "Invalid configuration: base_url must use https:// (plain http is allowed only for loopback hosts)"
    )


def test_other_commands_still_work_beside_discover(tmp_path, emulator):
    result = run_cli(["spec"])
    assert [m["type"] for m in result.messages] == ["SPEC"]
    config = connector_config("crowdpower", emulator.url)
    result = run_cli(["check", "--config", str(write_json(tmp_path / "config.json", config))])
    assert [m["connectionStatus"]["status"] for m in result.of_type("CONNECTION_STATUS")] == ["SUCCEEDED"]


# --------------------------------------------------------------------------- write


ACTIVATED = (None, "warehouse_users")


def _activation_catalog(object_name: str, matching_key: list | None, mode: str = "append_dedup") -> dict:
    """A configured catalog as the platform sends for a data-activation connection: the stream
    names the destination object, its primary key is the matching key, and its records carry
    the object's property names."""
    configured = {
        "stream": {
            "name": ACTIVATED[1],
            "json_schema": {"type": "object", "additionalProperties": True, "properties": {}},
            "supported_sync_modes": ["full_refresh", "incremental"],
        },
        "sync_mode": "full_refresh",
        "destination_sync_mode": mode,
        "destination_object_name": object_name,
    }
    if matching_key is not None:
        configured["primary_key"] = matching_key
    return {"streams": [configured]}


def _write(tmp_path, config: dict, catalog: dict, rows: list[dict]):
    messages = [record_message(ACTIVATED, data, EMITTED_AT[0]) for data in rows]
    messages.append(state_message(ACTIVATED, len(rows), 1, len(rows)))
    return run_cli(write_args(tmp_path, config, catalog), write_messages(tmp_path / "in.jsonl", messages))


def test_write_to_thrivestack_user_object_sends_exactly_the_mapped_events(tmp_path, emulator):
    rows = [
        {
            "user_id": "u1",
            "email": "ada@example.com",
            "enrichment_first_name": "Ada",
            "last_name": "Lovelace",
            "enrichment_github_handle": "ada",
            "enrichment_phone": "+15550100",
            "group_id": "acme",
            "plan": "pro",
            "nickname": None,
        },
        {"user_id": 42, "enrichment_active_at": "2024-01-15"},
        {"email": "nobody@example.com"},  # no value for the matching key: rejected
    ]
    config = connector_config("thrivestack", emulator.url)
    result = _write(tmp_path, config, _activation_catalog("user", [["user_id"]]), rows)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.traces == []
    assert result.states[0]["state"]["destinationStats"] == {"recordCount": 2.0, "rejectedRecordCount": 1.0}
    assert "rejected record 3 of stream 'warehouse_users': no value for the matching key 'user_id'" in result.logs("WARN")
    assert emulator.accepted("thrivestack") == [
        {
            "user_id": "u1",
            "traits": {
                "email": "ada@example.com",
                "enrichment_first_name": "Ada",
                "enrichment_last_name": "Lovelace",
                "enrichment_phone": ["+15550100"],
                "plan": "pro",
                "enrichment_github_handle": "ada",
            },
            "context": {"group_id": "acme"},
            "timestamp": EMITTED_AT_ISO[0],
        },
        # a documented date trait: the date as ISO-8601 UTC text
        {"user_id": "42", "traits": {"enrichment_active_at": "2024-01-15T00:00:00.000Z"}, "timestamp": EMITTED_AT_ISO[0]},
    ]


def test_write_to_zaius_user_object_matching_on_its_identifier(tmp_path, emulator):
    rows = [
        {"account_key": "k-1", "email": "ada@example.com", "zip": "02101", "image_url": "https://x.io/a.png", "dob_year": 1815},
        {"account_key": 77, "gender": "female", "street1": "1 Main St", "tier": {"level": 3}},
        {"email": "no-key@example.com"},  # no value for the matching key: rejected
    ]
    emulator.zaius_identifiers = (*emulator.zaius_identifiers, "account_key")
    config = connector_config("zaius", emulator.url, user_id_attribute="account_key")
    result = _write(tmp_path, config, _activation_catalog("user", [["account_key"]]), rows)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.traces == []
    assert result.states[0]["state"]["destinationStats"] == {"recordCount": 2.0, "rejectedRecordCount": 1.0}
    assert emulator.accepted("zaius") == [
        {
            "attributes": {
                "account_key": "k-1",
                "email": "ada@example.com",
                "zip": "02101",
                "image_url": "https://x.io/a.png",
                "dob_year": 1815,
            }
        },
        {"attributes": {"account_key": "77", "gender": "F", "street1": "1 Main St", "tier_level": 3}},
    ]


def test_write_to_crowdpower_matching_on_email(tmp_path, emulator):
    rows = [
        {"email": "ada@example.com", "signed_up_at": "2024-01-15T10:30:00Z", "plan": "pro"},
        {"email": "bob@example.com", "user_id": "u2", "name": "Bob"},
        {"user_id": "u3"},  # a user id but no email, the chosen matching key: rejected
    ]
    config = connector_config("crowdpower", emulator.url)
    result = _write(tmp_path, config, _activation_catalog("user", [["email"]]), rows)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.states[0]["state"]["destinationStats"] == {"recordCount": 2.0, "rejectedRecordCount": 1.0}
    assert emulator.accepted("crowdpower") == [
        {
            "email": "ada@example.com",
            "signed_up_at": 1705314600,
            "custom_attributes": {"plan": "pro"},
            "update_session": False,
        },
        {"email": "bob@example.com", "user_id": "u2", "name": "Bob", "update_session": False},
    ]


def test_write_to_userpilot_user_object_places_reserved_metadata(tmp_path, emulator):
    rows = [{"user_id": "u1", "name": "Ada", "email": "ada@example.com", "company_id": "c1", "company_name": "Acme", "seats": 3}]
    config = connector_config("userpilot", emulator.url, mode="realtime")
    result = _write(tmp_path, config, _activation_catalog("user", [["user_id"]]), rows)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert emulator.accepted("userpilot") == [
        {
            "user_id": "u1",
            "company": {"company_id": "c1", "name": "Acme"},
            "metadata": {"seats": "3", "name": "Ada", "email": "ada@example.com"},
        }
    ]


def test_write_with_an_unknown_object_is_a_config_error_naming_it(tmp_path, emulator):
    config = connector_config("thrivestack", emulator.url)
    result = _write(tmp_path, config, _activation_catalog("contact", [["user_id"]]), [{"user_id": "u1"}])
    assert result.returncode == 1
    errors = [trace["trace"]["error"] for trace in result.traces]
    assert len(errors) == 1 and errors[0]["failure_type"] == "config_error"
    assert "'contact'" in errors[0]["message"] and "warehouse_users" in errors[0]["message"]
    assert "objects: user" in errors[0]["message"]
    assert emulator.stats()["requests"] == 0


@pytest.mark.parametrize(
    "vendor, options, key, shown",
    [
        ("thrivestack", {}, [["email"]], "'email'"),  # Thrivestack resolves users by user id only
        ("crowdpower", {}, [["phone"]], "'phone'"),
        ("zaius", {"user_id_attribute": ""}, [["user_id"]], "'user_id'"),  # no user id is sent at all
        ("userpilot", {}, [["user_id"], ["email"]], "'user_id, email'"),  # composite keys: no
    ],
)
def test_write_with_an_unsupported_matching_key_is_a_config_error_naming_it(tmp_path, emulator, vendor, options, key, shown):
    config = connector_config(vendor, emulator.url, **options)
    result = _write(tmp_path, config, _activation_catalog("user", key), [{"user_id": "u1", "email": "a@b.co"}])
    assert result.returncode == 1
    errors = [trace["trace"]["error"] for trace in result.traces]
    assert len(errors) == 1 and errors[0]["failure_type"] == "config_error", result.messages
    assert shown in errors[0]["message"] and "use one of:" in errors[0]["message"]
    assert emulator.stats()["requests"] == 0


def test_streams_without_an_object_keep_todays_mapping_beside_activated_ones(tmp_path, emulator):
    """A classic stream (primary key as the user-id fallback) and an activated one in one sync."""
    catalog = _activation_catalog("user", [["email"]])
    catalog["streams"].append(
        {
            "stream": {"name": "legacy", "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh"]},
            "sync_mode": "full_refresh",
            "destination_sync_mode": "append",
            "primary_key": [["contact_key"]],
        }
    )
    messages = [
        record_message(ACTIVATED, {"email": "ada@example.com"}, EMITTED_AT[0]),
        record_message((None, "legacy"), {"contact_key": "c1", "email": "bob@example.com"}, EMITTED_AT[0]),
    ]
    config = connector_config("crowdpower", emulator.url)
    result = run_cli(write_args(tmp_path, config, catalog), write_messages(tmp_path / "in.jsonl", messages))
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert sorted(emulator.accepted("crowdpower"), key=json.dumps) == sorted(
        [
            {"email": "ada@example.com", "update_session": False},
            {"user_id": "c1", "email": "bob@example.com", "update_session": False},
        ],
        key=json.dumps,
    )
