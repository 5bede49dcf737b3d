"""Zaius / Optimizely Data Platform: `POST /v3/profiles` with `[{"attributes": {...}}]`.

Success is 202 (asynchronous). Attributes are flat scalars. A 400 lists refused rows in
`detail.invalids[].event` (0-based index); the request as a whole is then not accepted, so the
other rows are re-sent. The default host follows the key's region suffix (see vendor-facts).
"""

from typing import Any, Mapping
from urllib.parse import quote

import orjson

from destination_identify.errors import ConfigError, RecordRejected
from destination_identify.fields import splitter_for
from destination_identify.redact import redact_vendor_text
from destination_identify.values import flatten, identifier_text, json_scalar, scalar_text
from destination_identify.vendors.base import (
    BatchLimits,
    BatchRefused,
    CheckResult,
    HttpCall,
    RowsRefused,
    Vendor,
    Verdict,
    vendor_message,
)

FIELD_TABLE: Mapping[str, tuple[str, Any]] = {
    "email": ("email", scalar_text),
    "first_name": ("first_name", scalar_text),
    "last_name": ("last_name", scalar_text),
    "phone": ("phone", scalar_text),
    "city": ("city", scalar_text),
    "state": ("state", scalar_text),
    "country": ("country", scalar_text),
    "timezone": ("timezone", scalar_text),
    "gender": ("gender", lambda value, field: gender_code(value)),
    "street1": ("street1", scalar_text),
    "street2": ("street2", scalar_text),
    "postal_code": ("zip", scalar_text),
    "avatar": ("image_url", scalar_text),
}
# `name` only fills first/last names where those are absent (it is not an ODP field itself);
# `user_id` goes to the configured identifier attribute.
WANTED = frozenset(FIELD_TABLE) | {"name", "user_id"}
SPLITTER = splitter_for(WANTED)
BUILT_IN_IDENTIFIERS = ("email", "phone", "vuid", "zaius_id")
# ODP default customer fields that no canonical field fills (see vendor-facts): data activation
# offers them as properties of the user object, sent as attributes of the same name.
NATIVE_ATTRIBUTES: Mapping[str, tuple[str, str]] = {
    "dob_day": ("integer", "Day of the customer's date of birth (1-31)."),
    "dob_month": ("integer", "Month of the customer's date of birth (1-12)."),
    "dob_year": ("integer", "Year of the customer's date of birth."),
}
REGION_HOSTS = {"-eu1": "https://api.eu1.odp.optimizely.com", "-au1": "https://api.au1.odp.optimizely.com"}
US_HOST = "https://api.zaius.com"
CHECK_PROBE_EMAIL = "destination-identify-check@example.invalid"
_GENDERS = {"m": "M", "male": "M", "f": "F", "female": "F"}


def region_base_url(api_key: str) -> str:
    """Private keys are `<public>.<secret>`; the public part's suffix names the region."""
    public = api_key.rsplit(".", 1)[0] if "." in api_key else api_key
    for suffix, host in REGION_HOSTS.items():
        if public.endswith(suffix):
            return host
    return US_HOST


def gender_code(value: Any) -> str:
    """M or F; a blank value stays blank (and is dropped with the other blanks)."""
    if isinstance(value, str) and not value.strip():
        return value
    code = _GENDERS.get(value.strip().lower()) if isinstance(value, str) else None
    if code is None:
        raise RecordRejected("gender: ODP accepts only M or F (male/female)")
    return code


def split_name(name: str) -> tuple[str, str]:
    """First word, and the rest: "Ada King Lovelace" -> ("Ada", "King Lovelace")."""
    words = name.split()
    if not words:
        return "", ""
    return words[0], " ".join(words[1:])


def fill_from_name(attributes: dict, name: str) -> None:
    """First and last name from a full name, where the record lacks them. Beside a last name
    alone, the first name is the words before that last name's words ending the full name (any
    letter case), if any: Salesforce sends a contact without a first name as Name "Shaw",
    LastName "Shaw", whose first word is no first name."""
    if "last_name" not in attributes:
        first, last = split_name(name)
        if first and "first_name" not in attributes:
            attributes["first_name"] = first
        if last:
            attributes["last_name"] = last
    elif "first_name" not in attributes:
        words, last_words = name.split(), str(attributes["last_name"]).split()
        cut = len(words) - len(last_words)
        if last_words and cut > 0 and [word.casefold() for word in words[cut:]] == [word.casefold() for word in last_words]:
            attributes["first_name"] = " ".join(words[:cut])


def put_attributes(attributes: dict, fields: Mapping[str, Any]) -> None:
    """Flat scalar attributes; a name two fields would share rejects the record."""
    for key, value in flatten(fields, json_scalar).items():
        if key in attributes:
            raise RecordRejected(f"two fields map to attribute '{key}'; remove or rename one")
        attributes[key] = value


def drop_blanks(attributes: dict) -> None:
    """Blank text would overwrite a stored value with nothing: dropped, as ODP's own SDK does by
    default (it trims strings to null and leaves nulls out)."""
    blank = [key for key, value in attributes.items() if value.__class__ is str and not value.strip()]
    for key in blank:
        del attributes[key]


class Zaius(Vendor):
    name = "zaius"
    title = "Zaius (Optimizely Data Platform)"
    default_base_url = US_HOST
    extra_options = frozenset({"user_id_attribute"})
    limits = BatchLimits(max_records=500, max_bytes=4_000_000)
    requests_per_second = 9.5  # the account limit is 10/s; keep a margin for other clients
    default_concurrency = 2
    native_places_are_fields = True  # any attribute name; identifiers like vuid included

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        attribute = options.get("user_id_attribute", "customer_id")
        if attribute is None:
            attribute = ""
        if not isinstance(attribute, str):
            raise ConfigError("user_id_attribute must be text (empty to not send the user id)")
        self.user_id_attribute = attribute.strip()
        self.identifiers = BUILT_IN_IDENTIFIERS + ((self.user_id_attribute,) if self.user_id_attribute else ())

    def default_url(self) -> str:
        return region_base_url(self.api_key)

    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key}

    def map_record(
        self, data: Mapping[str, Any], emitted_at: int | None, user_id_field: str | None, mapped: Mapping | None = None
    ) -> dict:
        canonical, rest = SPLITTER.split(data, user_id_field, mapped)
        attributes: dict[str, Any] = {}
        user_id = canonical.pop("user_id", None)
        if user_id is not None and self.user_id_attribute:  # empty: the user id is not sent
            attributes[self.user_id_attribute] = identifier_text(user_id, "user_id")
        name = canonical.pop("name", None)
        for field, value in canonical.items():
            key, convert = FIELD_TABLE[field]
            attributes[key] = convert(value, field)
        if name is not None:
            fill_from_name(attributes, scalar_text(name, "name"))
        put_attributes(attributes, rest)
        drop_blanks(attributes)
        if not any(attributes.get(identifier) is not None for identifier in self.identifiers):
            raise RecordRejected(f"no identifier ({', '.join(self.identifiers)})")
        return {"attributes": attributes}

    native_syntax = "an attribute name (no dots)"

    def canonical_targets(self) -> frozenset:
        return WANTED

    def native_target(self, target: str) -> Any:
        if not target.strip() or "." in target or target != target.strip():
            return None
        if target == self.user_id_attribute:
            raise ConfigError(
                f"field_mapping target '{target}' is the user id attribute (user_id_attribute): map to user_id instead"
            )
        return target

    def own_names(self) -> Mapping[str, str]:
        names = {key: field for field, (key, _) in FIELD_TABLE.items() if key != field}
        if self.user_id_attribute and self.user_id_attribute not in WANTED:
            names[self.user_id_attribute] = "user_id"  # the row's user id lands there
        return names

    def native_fields(self) -> Mapping[str, tuple[str, str, str]]:
        return {
            name: (name, kind, text) for name, (kind, text) in NATIVE_ATTRIBUTES.items() if name != self.user_id_attribute
        }

    def matching_keys(self) -> tuple[str, ...]:
        """ODP merges profiles on any identifier: the configured one (also reached as user_id),
        and its built-in email and phone (vuid and zaius_id are ODP's own, not warehouse data)."""
        keys = ("user_id", self.user_id_attribute) if self.user_id_attribute else ()
        return tuple(dict.fromkeys(keys + ("email", "phone")))

    def place_native(self, payload: dict, place: Any, value: Any) -> None:
        put_attributes(payload["attributes"], {place: value})

    def batch_call(self, body: bytes) -> HttpCall:
        return HttpCall("POST", "/v3/profiles", body)

    def check_call(self) -> HttpCall:
        return HttpCall("GET", f"/v3/profiles?email={quote(CHECK_PROBE_EMAIL)}")

    def read_check(self, status: int, body: bytes) -> CheckResult:
        if status in (200, 202, 404):
            return CheckResult(True, "Zaius accepted the API key")
        if status == 403:
            return CheckResult(
                False,
                "Zaius refused the API key (403). Either the key is wrong, or it is a public key: "
                "public keys can write profiles but not read them, and check reads one. Use the "
                "private key (it looks like <public>.<secret>).",
            )
        return self.generic_check_failure(status, body)

    def read_refusal(self, status: int, body: bytes, batch_size: int) -> Verdict:
        invalids = _invalids(body)
        if invalids:
            reasons = {index: message for index, message in invalids.items() if 0 <= index < batch_size}
            if reasons:
                return RowsRefused(reasons)
        return BatchRefused(f"Zaius answered {status}: {vendor_message(body)}")



def _invalids(body: bytes) -> dict[int, str]:
    try:
        parsed = orjson.loads(body)
        entries = parsed["detail"]["invalids"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return {}
    found: dict[int, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("event"), int):
            found[entry["event"]] = "Zaius refused the row: " + redact_vendor_text(str(entry.get("message", "")))
    return found
