"""CrowdPower (Beacon API): `POST /customers/bulk` with `{"customers": [...]}`.

CrowdPower publishes no bulk size limit and no per-item errors, so we choose conservative caps
(500 customers, 1,000,000 bytes per request) and find refused rows by splitting the batch.
`custom_attributes` take only flat scalars with keys of letters, digits, `-` and `_`, at most 50
characters; dates must be UNIX seconds, under keys ending in `_at`.
"""

import re
from functools import lru_cache
from typing import Any, Mapping

from destination_identify.errors import ConfigError, RecordRejected
from destination_identify.fields import splitter_for
from destination_identify.values import (
    date_time_seconds,
    flatten,
    identifier_text,
    json_scalar,
    same_value,
    scalar_text,
    unix_seconds,
)
from destination_identify.vendors.base import BatchLimits, CheckResult, HttpCall, Vendor

FIELD_TABLE: Mapping[str, tuple[str, Any]] = {
    "user_id": ("user_id", identifier_text),
    "email": ("email", scalar_text),
    "name": ("name", scalar_text),
    "first_name": ("first_name", scalar_text),
    "last_name": ("last_name", scalar_text),
    "phone": ("phone", scalar_text),
    "ip": ("ip", scalar_text),
    "created_at": ("signed_up_at", unix_seconds),
}
WANTED = frozenset(FIELD_TABLE)
SPLITTER = splitter_for(WANTED)
_INVALID_KEY_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
MAX_KEY_LENGTH = 50
_VALID_KEY = re.compile(r"[A-Za-z0-9_-]{1,%d}" % MAX_KEY_LENGTH)


@lru_cache(maxsize=4096)
def attribute_key(name: str) -> tuple[str, bool]:
    """A CrowdPower-valid key (other characters become `_`, at most 50 characters), and whether
    it ends in `_at`, CrowdPower's mark of a date. (Cached: a stream's records share their
    field names.)"""
    key = _INVALID_KEY_CHARS.sub("_", name).strip("_") or "_"
    key = key[:MAX_KEY_LENGTH]
    return key, key.endswith("_at")


def date_attribute(value: Any, field: str) -> int:
    """A key ending in `_at` is CrowdPower's mark of a date, which must be UNIX seconds ("anything
    else is an API error"): dates and epoch milliseconds become seconds too, and a value that is
    no single point in time (text, a boolean, a list joined or written as JSON text) is rejected
    here, with its reason, rather than failing a batch."""
    if value.__class__ is bool:
        raise RecordRejected(f"{field}: a key ending in _at holds a date (UNIX seconds), got boolean")
    return unix_seconds(value, field)


def put_attributes(customer: dict, fields: Mapping[str, Any]) -> None:
    """Flatten `fields` into valid custom attributes (strings, numbers and booleans as they are,
    text that is wholly a date-time as UNIX seconds, each converted once, once its key is known);
    a key two fields would share is sent once when both send the same value, else it rejects the
    record."""
    flat = flatten(fields, json_scalar)
    if not flat:
        return
    attributes = customer.setdefault("custom_attributes", {})
    for name, value in flat.items():
        key, is_date = attribute_key(name)
        if is_date:
            value = date_attribute(value, name)
        elif value.__class__ is str and (seconds := date_time_seconds(value)) is not None:
            value = seconds  # a whole date-time under any key; other text stays text
        if key in attributes:
            if same_value(attributes[key], value):
                continue
            raise RecordRejected(f"two fields become custom attribute '{key}'; rename one")
        attributes[key] = value


class CrowdPower(Vendor):
    name = "crowdpower"
    title = "CrowdPower"
    default_base_url = "https://beacon.crowdpower.io"
    extra_options = frozenset({"update_session"})
    limits = BatchLimits(max_records=500, max_bytes=1_000_000)
    body_prefix = b'{"customers":['
    body_suffix = b"]}"

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        update_session = options.get("update_session")
        if update_session is None:
            update_session = False
        if not isinstance(update_session, bool):
            raise ConfigError("update_session must be true or false")
        self.update_session = update_session

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def map_record(
        self, data: Mapping[str, Any], emitted_at: int | None, user_id_field: str | None, mapped: Mapping | None = None
    ) -> dict:
        canonical, rest = SPLITTER.split(data, user_id_field, mapped)
        if "user_id" not in canonical and "email" not in canonical:
            raise RecordRejected("neither a user id nor an email")
        customer: dict[str, Any] = {}
        for field, value in canonical.items():
            key, convert = FIELD_TABLE[field]
            customer[key] = convert(value, field)
        if rest:
            put_attributes(customer, rest)
        customer["update_session"] = self.update_session
        return customer

    native_syntax = "custom_attributes.<key> (key: letters, digits, - and _, at most 50 characters)"

    def canonical_targets(self) -> frozenset:
        return WANTED

    def own_names(self) -> Mapping[str, str]:
        return {key: field for field, (key, _) in FIELD_TABLE.items() if key != field}

    def matching_keys(self) -> tuple[str, ...]:
        """CrowdPower finds a customer by user_id, else by email (vendor-facts)."""
        return ("user_id", "email")

    def native_target(self, target: str) -> Any:
        prefix = "custom_attributes."
        if target.startswith(prefix):
            key = target[len(prefix) :]
            if _VALID_KEY.fullmatch(key):
                return key
            raise ConfigError(
                f"field_mapping target '{target}': a CrowdPower custom attribute key has only letters, "
                f"digits, - and _, at most {MAX_KEY_LENGTH} characters"
            )
        return None

    def place_native(self, payload: dict, place: Any, value: Any) -> None:
        put_attributes(payload, {place: value})

    def batch_call(self, body: bytes) -> HttpCall:
        return HttpCall("POST", "/customers/bulk", body)

    def check_call(self) -> HttpCall:
        """An empty bulk upsert: authenticated, creates and changes nothing."""
        return HttpCall("POST", "/customers/bulk", b'{"customers":[]}')

    def read_check(self, status: int, body: bytes) -> CheckResult:
        """2xx, or a 400/422 about the empty list (the page marks `customers` required): either
        way the key got past authentication, which answers 401."""
        if 200 <= status < 300 or status in (400, 422):
            return CheckResult(True, "CrowdPower accepted the API key")
        return self.generic_check_failure(status, body)
