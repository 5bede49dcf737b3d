"""Data activation: the objects this destination writes, as Airbyte `DestinationOperation`s.

`discover` declares them; `write` honours a configured stream's `destination_object_name` and
its `primary_key` (the matching key). Both read the same definition, built here from the
vendor's own mapping hooks, so what the UI offers is exactly what the mapping understands:

- canonical properties: `vendor.canonical_targets()` (the field table's keys), typed and
  described once in CANONICAL_FIELD_SCHEMAS;
- the vendor's own names of canonical fields (`vendor.own_names()`: Zaius `zip`, Thrivestack
  `enrichment_first_name`, ...), which fill their canonical field;
- vendor-native properties (`vendor.native_fields()`: Thrivestack's other `enrichment_*` traits,
  Zaius `dob_*`, Userpilot's reserved `name` / `email`), placed through `vendor.place_native`,
  the machinery of `field_mapping`'s native targets;
- anything else (`additionalProperties: true`) is the vendor's custom data, as in any stream.

Matching keys are `vendor.matching_keys()`. One object per vendor, `user`, in `append_dedup`
(identify calls upsert: the vendor finds the user by the key, or creates it).
"""

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from destination_identify.errors import ConfigError, RecordRejected
from destination_identify.field_mapping import natives_into_data, place_natives
from destination_identify.fields import CANONICAL_FIELDS, drop_nulls
from destination_identify.vendors.base import Vendor

USER_OBJECT = "user"
SYNC_MODES = ("append_dedup",)

_TEXT = ["null", "string"]
_ID = ["null", "string", "integer"]
_TIME = ["null", "string", "integer", "number"]

# canonical field -> (JSON types, description). The one place canonical fields are described.
CANONICAL_FIELD_SCHEMAS: Mapping[str, tuple[list[str], str]] = {
    "user_id": (_ID, "The user's unique id in your product (text, or an integer sent as text)."),
    "email": (_TEXT, "The user's email address."),
    "name": (_TEXT, "The user's full name."),
    "first_name": (_TEXT, "The user's first name."),
    "last_name": (_TEXT, "The user's last name."),
    "phone": (_TEXT, "The user's phone number (E.164 works best)."),
    "avatar": (_TEXT, "URL of the user's profile picture."),
    "title": (_TEXT, "The user's job title."),
    "company_id": (_ID, "The id of the company (account) the user belongs to."),
    "company_name": (_TEXT, "The name of the company the user belongs to."),
    "street1": (_TEXT, "First line of the user's street address."),
    "street2": (_TEXT, "Second line of the user's street address."),
    "city": (_TEXT, "The user's city."),
    "state": (_TEXT, "The user's state or province."),
    "postal_code": (_TEXT, "The user's postal (ZIP) code."),
    "country": (_TEXT, "The user's country."),
    "timezone": (_TEXT, "The user's time zone (IANA name, e.g. Europe/Paris)."),
    "gender": (_TEXT, "The user's gender."),
    "ip": (_TEXT, "The user's IP address."),
    "created_at": (_TIME, "When the user signed up: ISO-8601 date or date-time, or epoch seconds or milliseconds."),
}
# Vendor rules the schema cannot say with a type alone.
_VENDOR_NOTES: Mapping[tuple[str, str], str] = {
    ("zaius", "gender"): "ODP accepts only M or F (male/female).",
    ("zaius", "name"): "Not an ODP field: fills first_name and last_name where those are absent.",
}
_NATIVE_TYPES = {"string": _TEXT, "integer": ["null", "integer"], "number": ["null", "number"]}


@dataclass(frozen=True)
class Operation:
    """One object a vendor can write: its protocol shape, and how its properties are mapped."""

    object_name: str
    sync_mode: str
    json_schema: dict
    matching_keys: tuple[str, ...]
    own_names: Mapping[str, str] = field(default_factory=dict)  # property -> canonical field
    natives: Mapping[str, Any] = field(default_factory=dict)  # property -> vendor place

    def protocol_fields(self) -> dict:
        return {
            "object_name": self.object_name,
            "sync_mode": self.sync_mode,
            "json_schema": self.json_schema,
            "matching_keys": [[key] for key in self.matching_keys],
        }


def _property(types: list[str], description: str) -> dict:
    return {"type": list(types), "description": description}


def user_operation(vendor: Vendor, sync_mode: str = SYNC_MODES[0]) -> Operation:
    """The `user` object of this (configured) vendor."""
    canonical = vendor.canonical_targets()
    properties: dict[str, dict] = {}
    for name in CANONICAL_FIELDS:  # the canonical order reads best in a UI
        if name in canonical:
            types, text = CANONICAL_FIELD_SCHEMAS[name]
            note = _VENDOR_NOTES.get((vendor.name, name))
            properties[name] = _property(types, f"{text} {note}" if note else text)
    own_names = dict(vendor.own_names())
    for name, target in own_names.items():
        types, _ = CANONICAL_FIELD_SCHEMAS[target]
        properties[name] = _property(
            types, f"The {vendor.title} name for {target}: it fills the same field, so map only one of the two."
        )
    natives: dict[str, Any] = {}
    for name, (target, kind, text) in vendor.native_fields().items():
        if name in properties:
            continue
        natives[name] = vendor.native_target(target)
        properties[name] = _property(_NATIVE_TYPES[kind], f"{text} Sent to {vendor.title} as {target}.")
    keys = tuple(key for key in vendor.matching_keys() if key in properties)
    schema: dict[str, Any] = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": True,
        "properties": properties,
    }
    if keys == ("user_id",):  # the only way this vendor finds a user
        schema["required"] = ["user_id"]
    return Operation(USER_OBJECT, sync_mode, schema, keys, own_names, natives)


def vendor_operations(vendor: Vendor) -> dict[str, Operation]:
    """Every object this vendor can write, by object name."""
    operation = user_operation(vendor)
    return {operation.object_name: operation}


def destination_catalog(vendor: Vendor) -> dict:
    """The `destination_catalog` of a DESTINATION_CATALOG message, as protocol fields."""
    return {"operations": [operation.protocol_fields() for operation in vendor_operations(vendor).values()]}


# --------------------------------------------------------------------------- write


def resolve_stream(operations: Mapping[str, Operation], configured: Mapping, stream_name: str, vendor_title: str):
    """(operation, matching key or None) of a configured stream naming a destination object;
    ConfigError names an unknown object or a matching key the object does not support."""
    object_name = configured.get("destination_object_name")
    operation = operations.get(object_name) if isinstance(object_name, str) else None
    if operation is None:
        raise ConfigError(
            f"stream '{stream_name}' asks for destination object '{object_name}', which {vendor_title} does not "
            f"have; its objects: {', '.join(sorted(operations)) or 'none'} (run discover to see them)"
        )
    primary_key = configured.get("primary_key")
    if not primary_key:
        return operation, None
    paths = primary_key if isinstance(primary_key, list) else [primary_key]
    if (
        len(paths) != 1
        or not isinstance(paths[0], list)
        or len(paths[0]) != 1
        or paths[0][0] not in operation.matching_keys
    ):
        shown = ", ".join(".".join(map(str, path)) if isinstance(path, list) else str(path) for path in paths)
        raise ConfigError(
            f"stream '{stream_name}' matches object '{operation.object_name}' on '{shown}', which {vendor_title} "
            f"cannot match users on; use one of: {', '.join(operation.matching_keys)}"
        )
    return operation, paths[0][0]


class OperationMapper:
    """Maps the records of a stream written to an object: they carry the object's property names.

    Own names become their canonical field, native properties go to their vendor place, and the
    rest is mapped as in any stream (`base_map`: the vendor's mapping with the config's controls).
    A record without a value for the matching key is rejected: the vendor could not find the user.
    """

    def __init__(self, operation: Operation, matching_key: str | None, vendor: Vendor, base_map: Callable) -> None:
        self.matching_key = matching_key
        self.vendor = vendor
        self.base_map = base_map
        self.own_names = tuple(operation.own_names.items())
        self.natives = tuple(operation.natives.items())

    def map(self, data: Mapping[str, Any], emitted_at: Any, user_id_field: str | None = None) -> dict:
        key = self.matching_key
        if key is not None and data.get(key) in (None, ""):
            raise RecordRejected(f"no value for the matching key '{key}'")
        data = dict(data)
        for name, canonical in self.own_names:
            value = data.pop(name, None)
            if value is None:
                continue
            if data.get(canonical) is not None:
                raise RecordRejected(f"'{name}' and '{canonical}' fill the same {self.vendor.title} field; map only one")
            data[canonical] = value
        natives = []
        for name, place in self.natives:
            value = data.pop(name, None)
            if value.__class__ is dict or value.__class__ is list:
                value = drop_nulls(value)
            if value is not None:
                natives.append((place, value))
        natives = natives_into_data(self.vendor, data, natives)
        # The matching key, not a primary-key column, identifies the user here: no fallback.
        payload = self.base_map(data, emitted_at, None)
        place_natives(self.vendor, payload, natives)
        return payload


def bind_stream_maps(streams: Mapping[Any, Any], vendor: Vendor, base_map: Callable) -> None:
    """Give each stream context its mapping: an OperationMapper for streams written to a
    destination object, `base_map` (the vendor's mapping with the config's controls) otherwise."""
    for stream in streams.values():
        if stream.operation is not None:
            stream.map = OperationMapper(stream.operation, stream.matching_key, vendor, base_map).map
        else:
            stream.map = base_map
