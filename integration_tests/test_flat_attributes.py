"""Rows from real sources on the vendors that take only flat scalar attributes (CrowdPower, Zaius,
Userpilot), end to end: the CLI as a process, the emulator as vendor, and what the emulator
stored read back through its control API (GET /__emulator__/accepted/<vendor>).

- source-hubspot: a `properties` object and its flattened `properties_*` columns, same values:
  each value is sent once, not rejected as two fields on one key;
- source-shopify: `addresses`, a list of objects: sent as its compact JSON text, nulls dropped;
- source-zendesk: free-text `notes` that starts like a date-time: sent as the text it is.
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from integration_tests.cli import (
    EMITTED_AT,
    connector_config,
    record_message,
    run_cli,
    state_message,
    write_args,
    write_messages,
)
from unit_tests.source_rows import HUBSPOT

STREAM = (None, "customers")
CATALOG = {
    "streams": [
        {
            "stream": {"name": "customers", "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh"]},
            "sync_mode": "full_refresh",
            "destination_sync_mode": "append",
            "primary_key": [["id"]],
        }
    ]
}
SHOPIFY = {
    "id": 207119551,
    "email": "bob.norman@mail.example.com",
    "addresses": [
        {"id": 1, "address1": "Chestnut Street 92", "city": "Louisville", "company": None, "default": True},
        {"id": 2, "address1": "Storgata 5", "city": "Bergen", "province": None, "default": False},
    ],
    "tags": "vip, beta",
}
ZENDESK = {"id": "z-9", "email": "c@help.example.com", "notes": "2024-01-15 10:30 called, wants refund"}
ADDRESSES_TEXT = (
    '[{"id":1,"address1":"Chestnut Street 92","city":"Louisville","default":true},'
    '{"id":2,"address1":"Storgata 5","city":"Bergen","default":false}]'
)
NOTES = ZENDESK["notes"]

EXPECTED = {
    "crowdpower": [
        {
            "user_id": "151",
            "custom_attributes": {
                "properties_email": "m@x.es",
                "properties_firstname": "Marta",
                "properties_createdate": 1705314600,  # a whole date-time: UNIX seconds
                "properties_num_notes": 3,
            },
            "update_session": False,
        },
        {
            "user_id": "207119551",
            "email": "bob.norman@mail.example.com",
            "custom_attributes": {"addresses": ADDRESSES_TEXT, "tags": "vip, beta"},
            "update_session": False,
        },
        {"user_id": "z-9", "email": "c@help.example.com", "custom_attributes": {"notes": NOTES}, "update_session": False},
    ],
    "zaius": [
        {
            "attributes": {
                "customer_id": "151",
                "properties_email": "m@x.es",
                "properties_firstname": "Marta",
                "properties_createdate": "2024-01-15T10:30:00.000Z",
                "properties_num_notes": 3,
            }
        },
        {
            "attributes": {
                "customer_id": "207119551",
                "email": "bob.norman@mail.example.com",
                "addresses": ADDRESSES_TEXT,
                "tags": "vip, beta",
            }
        },
        {"attributes": {"customer_id": "z-9", "email": "c@help.example.com", "notes": NOTES}},
    ],
    "userpilot-bulk": [
        {
            "user_id": "151",
            "metadata": {
                "properties_email": "m@x.es",
                "properties_firstname": "Marta",
                "properties_createdate": "2024-01-15T10:30:00.000Z",
                "properties_num_notes": 3,
            },
        },
        {
            "user_id": "207119551",
            "metadata": {"email": "bob.norman@mail.example.com", "addresses": ADDRESSES_TEXT, "tags": "vip, beta"},
        },
        {"user_id": "z-9", "metadata": {"email": "c@help.example.com", "notes": NOTES}},
    ],
}
EXPECTED["userpilot-realtime"] = [
    {**user, "metadata": {key: str(value) for key, value in user["metadata"].items()}} for user in EXPECTED["userpilot-bulk"]
]


def accepted(emulator, vendor: str) -> list:
    """What the emulator stored, through its HTTP control API."""
    parts = urlsplit(emulator.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", f"/__emulator__/accepted/{vendor}")
        response = connection.getresponse()
        assert response.status == 200
        return json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize(
    "case, vendor, options",
    [
        ("crowdpower", "crowdpower", {}),
        ("zaius", "zaius", {}),
        ("userpilot-bulk", "userpilot", {"mode": "bulk"}),
        ("userpilot-realtime", "userpilot", {"mode": "realtime"}),
    ],
)
def test_hubspot_shopify_and_zendesk_rows_are_stored_as_flat_attributes(tmp_path, emulator, case, vendor, options):
    messages = [record_message(STREAM, data, EMITTED_AT[0]) for data in (HUBSPOT, SHOPIFY, ZENDESK)]
    messages.append(state_message(STREAM, 3, 1, 3))
    config = connector_config(vendor, emulator.url, **options)
    result = run_cli(write_args(tmp_path, config, CATALOG), write_messages(tmp_path / "in.jsonl", messages))

    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.traces == []
    assert [text for text in result.logs() if text.startswith("rejected record")] == []
    assert [state["state"]["destinationStats"] for state in result.states] == [
        {"recordCount": 3.0, "rejectedRecordCount": 0.0}
    ]
    assert accepted(emulator, vendor) == EXPECTED[case]
