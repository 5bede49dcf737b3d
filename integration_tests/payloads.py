"""What each vendor must receive for a row of cli.record_data(), written out by hand from the
mapping tables of issues 2 and 3 (not computed by the connector's code)."""

from __future__ import annotations

from typing import Callable, Optional

from integration_tests.cli import EMITTED_AT, EMITTED_AT_ISO, Row, user_key_of

SIGNED_UP_AT = 1705314600  # 2024-01-15T10:30:00Z
LAST_LOGIN_AT = 1706774400  # 2024-02-01T08:00:00Z


def thrivestack(row: Row) -> dict:
    data = row.data
    traits = {
        "email": data["email"],
        "enrichment_full_name": data["name"],
        "enrichment_phone": [data["phone"]],
        "enrichment_employment_name": data["company"]["name"],
        "enrichment_city": "Boston",
        "address": {"postal_code": "02101"},  # not a Thrivestack field: kept under its own name
        "plan": data["plan"],
        "seats": data["seats"],
        "active": data["active"],
        "score": 2.5,
        "created_at": "2024-01-15T10:30:00Z",
        "last_login_at": "2024-02-01T08:00:00+00:00",
        "tags": ["a", "b"],
        "favorite color": "blue",
    }
    if "first_name" in data:
        traits["enrichment_first_name"] = data["first_name"]
    return {
        "user_id": user_key_of(data),
        "traits": traits,
        "context": {"group_id": data["company"]["id"]},
        "timestamp": EMITTED_AT_ISO[EMITTED_AT.index(row.emitted_at)],
    }


def crowdpower(row: Row) -> dict:
    data = row.data
    customer = {
        "user_id": user_key_of(data),
        "email": data["email"],
        "name": data["name"],
        "phone": data["phone"],
        "signed_up_at": SIGNED_UP_AT,
        "custom_attributes": {
            "company_id": data["company"]["id"],
            "company_name": data["company"]["name"],
            "address_city": "Boston",
            "address_postal_code": "02101",
            "plan": data["plan"],
            "seats": data["seats"],
            "active": data["active"],
            "score": 2.5,
            "last_login_at": LAST_LOGIN_AT,
            "tags": "a, b",
            "favorite_color": "blue",
        },
        "update_session": False,
    }
    if "first_name" in data:
        customer["first_name"] = data["first_name"]
    return customer


def zaius(row: Row) -> dict:
    data = row.data
    first, last = data["name"].split(" ", 1)
    return {
        "attributes": {
            "customer_id": user_key_of(data),
            "email": data["email"],
            "phone": data["phone"],
            "first_name": data.get("first_name", first),
            "last_name": last,
            "city": "Boston",
            "zip": "02101",
            "company_id": data["company"]["id"],
            "company_name": data["company"]["name"],
            "plan": data["plan"],
            "seats": data["seats"],
            "active": data["active"],
            "score": 2.5,
            "created_at": "2024-01-15T10:30:00Z",
            "last_login_at": "2024-02-01T08:00:00+00:00",
            "tags": "a, b",
            "favorite color": "blue",
        }
    }


def _userpilot_metadata(data: dict, typed: bool) -> dict:
    """`typed`: bulk keeps numbers and booleans; real-time sends every value as text."""
    metadata = {
        "email": data["email"],
        "name": data["name"],
        "phone": data["phone"],
        "address_city": "Boston",
        "address_postal_code": "02101",
        "plan": data["plan"],
        "seats": data["seats"] if typed else str(data["seats"]),
        "active": data["active"] if typed else ("true" if data["active"] else "false"),
        "score": 2.5 if typed else "2.5",
        "created_at": "2024-01-15T10:30:00.000Z",
        "last_login_at": "2024-02-01T08:00:00+00:00",
        "tags": "a, b",
        "favorite color": "blue",
    }
    if "first_name" in data:
        metadata["first_name"] = data["first_name"]
    return metadata


def userpilot_bulk(row: Row) -> dict:
    data = row.data
    metadata = _userpilot_metadata(data, typed=True)
    metadata["company_name"] = data["company"]["name"]
    return {"user_id": user_key_of(data), "company_id": data["company"]["id"], "metadata": metadata}


def userpilot_realtime(row: Row) -> dict:
    data = row.data
    return {
        "user_id": user_key_of(data),
        "company": {"company_id": data["company"]["id"], "name": data["company"]["name"]},
        "metadata": _userpilot_metadata(data, typed=False),
    }


def identity(vendor: str) -> Callable[[dict], str]:
    """The user id inside one accepted item."""
    if vendor == "zaius":
        return lambda item: item["attributes"]["customer_id"]
    return lambda item: item["user_id"]


EXPECTED: dict[tuple[str, Optional[str]], Callable[[Row], dict]] = {
    ("thrivestack", None): thrivestack,
    ("crowdpower", None): crowdpower,
    ("zaius", None): zaius,
    ("userpilot", "bulk"): userpilot_bulk,
    ("userpilot", "realtime"): userpilot_realtime,
}

NO_ID_REASON = {
    "thrivestack": "no user id (user_id, userId or the stream's primary key)",
    "userpilot": "no user id (user_id, userId or the stream's primary key)",
    "crowdpower": "neither a user id nor an email",
    "zaius": "no identifier (email, phone, vuid, zaius_id, customer_id)",
}
SCHEMA_REASON = "schema: $.seats: expected null or integer"
