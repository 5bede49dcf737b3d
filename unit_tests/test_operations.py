"""Data activation objects: their schemas cannot drift from the mapping tables.

Every property of an operation's json_schema is one of: a canonical field the vendor maps
(exactly its canonical_targets), the vendor's own name of one (derived from its field table),
or a vendor-native field accepted by native_target. Each kind is proven to land where the
mapping puts it, and each matching key alone identifies a user.
"""

import re
from pathlib import Path

import orjson
import pytest
from jsonschema import Draft7Validator

from destination_identify.catalog import load_streams
from destination_identify.config import parse_config
from destination_identify.errors import ConfigError, RecordRejected
from destination_identify.fields import CANONICAL_FIELDS
from destination_identify.operations import (
    CANONICAL_FIELD_SCHEMAS,
    OperationMapper,
    destination_catalog,
    user_operation,
    vendor_operations,
)
from destination_identify.vendors import vendor_from_config
from destination_identify.vendors import crowdpower, thrivestack, userpilot, zaius

EMITTED = 1705314600000
VENDOR_DOCS = Path(__file__).resolve().parents[2] / "shared" / "vendor-docs"
CASES = {
    "thrivestack": {"vendor": "thrivestack"},
    "crowdpower": {"vendor": "crowdpower"},
    "zaius": {"vendor": "zaius"},
    "zaius-custom-id": {"vendor": "zaius", "user_id_attribute": "account_key"},
    "zaius-email-id": {"vendor": "zaius", "user_id_attribute": "email"},
    "zaius-no-id": {"vendor": "zaius", "user_id_attribute": ""},
    "userpilot-bulk": {"vendor": "userpilot", "mode": "bulk"},
    "userpilot-realtime": {"vendor": "userpilot", "mode": "realtime"},
}
# A value every property type accepts, per property kind (ids are text).
SAMPLE = {"integer": 7, "string": "2024-01-15T10:30:00Z"}


def vendor(case):
    return vendor_from_config({"api_key": "key-123", **CASES[case]})


def sample(prop: dict):
    return SAMPLE["string"] if "string" in prop["type"] else SAMPLE["integer"]


def identity(operation, skip: str = "") -> dict:
    """A record identified by the operation's first matching key (other than `skip`)."""
    key = next(key for key in operation.matching_keys if key != skip)
    return {key: "id-1" if key != "email" else "id@example.com"}


@pytest.fixture(params=sorted(CASES))
def case(request):
    return request.param


# ---- the schema is the mapping table ---------------------------------------------------------


def test_canonical_field_descriptions_cover_exactly_the_canonical_fields():
    assert set(CANONICAL_FIELD_SCHEMAS) == set(CANONICAL_FIELDS)
    for name, (types, text) in CANONICAL_FIELD_SCHEMAS.items():
        assert "null" in types and text.endswith("."), name


def test_every_property_is_canonical_own_name_or_native_and_canonical_ones_are_exactly_wanted(case):
    v = vendor(case)
    operation = user_operation(v)
    properties = set(operation.json_schema["properties"])
    own, natives = set(operation.own_names), set(operation.natives)
    assert not own & natives
    canonical = properties - own - natives
    assert canonical == set(v.canonical_targets())  # every mapped canonical field, and only those
    tables = {
        "thrivestack": thrivestack.WANTED,
        "crowdpower": crowdpower.WANTED,
        "userpilot-bulk": userpilot.BULK_WANTED,
        "userpilot-realtime": userpilot.REALTIME_WANTED,
    }
    assert canonical == set(tables.get(case, zaius.WANTED))  # the vendor modules' tables themselves
    assert canonical <= set(CANONICAL_FIELDS)
    assert set(operation.own_names.values()) <= canonical  # own names fill fields the vendor maps
    for name, (target, _, _) in v.native_fields().items():
        if name in natives:
            assert v.native_target(target) is not None, (name, target)  # field_mapping accepts it too
            assert operation.natives[name] == v.native_target(target)


def test_own_names_are_the_field_tables_vendor_names():
    assert vendor("zaius").own_names() == {"zip": "postal_code", "image_url": "avatar", "customer_id": "user_id"}
    assert vendor("zaius-email-id").own_names() == {"zip": "postal_code", "image_url": "avatar"}
    assert vendor("zaius-custom-id").own_names() == {"zip": "postal_code", "image_url": "avatar", "account_key": "user_id"}
    assert vendor("crowdpower").own_names() == {"signed_up_at": "created_at"}
    expected = {
        key: field for field, (part, key, _) in thrivestack.FIELD_TABLE.items() if part and key != field
    }
    assert vendor("thrivestack").own_names() == expected
    assert expected["enrichment_first_name"] == "first_name" and expected["group_id"] == "company_id"
    # every vendor key of each table is reachable by a property of the same name
    tables = {
        "zaius": {key for key, _ in zaius.FIELD_TABLE.values()},
        "crowdpower": {key for key, _ in crowdpower.FIELD_TABLE.values()},
        "thrivestack": {key for part, key, _ in thrivestack.FIELD_TABLE.values()},
    }
    for case, keys in tables.items():
        assert keys <= set(user_operation(vendor(case)).json_schema["properties"]), case


@pytest.mark.skipif(not VENDOR_DOCS.is_dir(), reason="shared/vendor-docs is not next to the project")
def test_every_documented_thrivestack_trait_is_a_property():
    page = next(VENDOR_DOCS.glob("003_*.txt")).read_text()
    traits = set(re.findall(r"^\| `(enrichment_[a-z_]+)` \|", page, re.MULTILINE))
    assert len(traits) == 25
    properties = user_operation(vendor("thrivestack")).json_schema["properties"]
    assert traits <= set(properties)
    assert set(thrivestack.NATIVE_TRAITS) <= traits  # natives are documented traits, nothing invented


def test_schemas_are_valid_draft7_with_typed_described_properties(case):
    operation = user_operation(vendor(case))
    Draft7Validator.check_schema(operation.json_schema)
    assert operation.json_schema["additionalProperties"] is True
    for name, prop in operation.json_schema["properties"].items():
        assert prop["type"] and prop["description"], name
    assert operation.sync_mode == "append_dedup"


def test_matching_keys_are_properties_per_vendor(case):
    operation = user_operation(vendor(case))
    assert set(operation.matching_keys) <= set(operation.json_schema["properties"])
    expected = {
        "thrivestack": ("user_id",),
        "crowdpower": ("user_id", "email"),
        "zaius": ("user_id", "customer_id", "email", "phone"),
        "zaius-custom-id": ("user_id", "account_key", "email", "phone"),
        "zaius-email-id": ("user_id", "email", "phone"),
        "zaius-no-id": ("email", "phone"),
        "userpilot-bulk": ("user_id",),
        "userpilot-realtime": ("user_id",),
    }[case]
    assert operation.matching_keys == expected
    required = operation.json_schema.get("required")
    assert required == (["user_id"] if expected == ("user_id",) else None)


# ---- each property lands where the mapping puts it ------------------------------------------


def test_each_matching_key_alone_identifies_a_user(case):
    v = vendor(case)
    operation = user_operation(v)
    for key in operation.matching_keys:
        mapper = OperationMapper(operation, key, v, v.map_record)
        record = {key: "id-1" if key != "email" else "id@example.com"}
        payload = mapper.map(record, EMITTED)
        assert "id-1" in orjson.dumps(payload).decode() or "id@example.com" in orjson.dumps(payload).decode()
        with pytest.raises(RecordRejected, match=f"no value for the matching key '{key}'"):
            mapper.map({"other": 1}, EMITTED)


def test_own_names_land_exactly_where_their_canonical_field_does(case):
    v = vendor(case)
    operation = user_operation(v)
    mapper = OperationMapper(operation, None, v, v.map_record)
    properties = operation.json_schema["properties"]
    for name, canonical in operation.own_names.items():
        base = identity(operation, skip=name) if canonical != "user_id" else {}
        value = sample(properties[name])
        if canonical == "user_id" or name == "group_id":
            value = "id-9"
        assert mapper.map({**base, name: value}, EMITTED) == mapper.map({**base, canonical: value}, EMITTED), name
        with pytest.raises(RecordRejected, match="fill the same"):
            mapper.map({**base, name: value, canonical: value}, EMITTED)


# Where each vendor's payload holds its native places (the declared target is the path below it).
NATIVE_ROOT = {"zaius": ("attributes",)}
# Thrivestack's two date traits are sent as ISO-8601 UTC with milliseconds, whatever form they came in.
SENT_AS = {("enrichment_active_at", SAMPLE["string"]): "2024-01-15T10:30:00.000Z",
           ("enrichment_inactive_at", SAMPLE["string"]): "2024-01-15T10:30:00.000Z"}


def test_native_properties_land_at_their_native_target(case):
    """At the path the vendor declares for it (`traits.enrichment_github_handle`, `metadata.email`,
    Zaius `attributes.dob_day`), and nowhere else: the rest of the payload is the identity's."""
    v = vendor(case)
    operation = user_operation(v)
    mapper = OperationMapper(operation, None, v, v.map_record)
    properties = operation.json_schema["properties"]
    for name in operation.natives:
        base = identity(operation)
        value = sample(properties[name])
        target, _, _ = v.native_fields()[name]
        *parents, key = NATIVE_ROOT.get(v.name, ()) + tuple(target.split("."))
        payload = mapper.map({**base, name: value}, EMITTED)
        holder = payload
        for part in parents:
            holder = holder[part]
        assert holder.pop(key) == SENT_AS.get((name, value), value), name
        without = mapper.map(base, EMITTED)
        assert {k: section for k, section in payload.items() if section != {}} == without, name


def test_native_examples_per_vendor():
    t = vendor("thrivestack")
    op = user_operation(t)
    event = OperationMapper(op, "user_id", t, t.map_record).map(
        {"user_id": "u1", "enrichment_github_handle": "ada", "enrichment_phone": "+1", "group_id": 5}, EMITTED
    )
    assert event["traits"] == {"enrichment_github_handle": "ada", "enrichment_phone": ["+1"]}
    assert event["context"] == {"group_id": "5"}
    z = vendor("zaius")
    op = user_operation(z)
    profile = OperationMapper(op, "customer_id", z, z.map_record).map(
        {"customer_id": 12, "image_url": "https://x/a.png", "zip": "02101", "dob_day": 3}, EMITTED
    )
    assert profile == {"attributes": {"customer_id": "12", "image_url": "https://x/a.png", "zip": "02101", "dob_day": 3}}
    u = vendor("userpilot-bulk")
    op = user_operation(u)
    user = OperationMapper(op, "user_id", u, u.map_record).map({"user_id": "u1", "name": "Ada", "email": "a@x.io"}, EMITTED)
    assert user == {"user_id": "u1", "metadata": {"name": "Ada", "email": "a@x.io"}}


def test_operation_streams_go_through_the_configs_mapping_controls():
    config = parse_config(
        {
            "vendor": {"vendor": "thrivestack", "api_key": "key-123"},
            "field_mapping": [{"source": "plan", "target": "traits.tier"}],
            "unmapped_fields": "drop",
        }
    )
    v = config.vendor
    mapper = OperationMapper(user_operation(v), "user_id", v, config.mapper.map)
    event = mapper.map({"user_id": "u1", "plan": "pro", "junk": 1, "enrichment_twitter_handle": "ada"}, EMITTED)
    # natives are mapped fields: `drop` keeps them; the unmapped `junk` is dropped
    assert event["traits"] == {"tier": "pro", "enrichment_twitter_handle": "ada"}


# ---- discover's catalog and write's catalog checks ------------------------------------------


def test_destination_catalog_lists_the_operations():
    v = vendor("crowdpower")
    catalog = destination_catalog(v)
    assert [op["object_name"] for op in catalog["operations"]] == list(vendor_operations(v))
    assert catalog["operations"][0]["matching_keys"] == [["user_id"], ["email"]]


def test_protocol_message_serializes_through_the_cdk_serializer_mechanism():
    from airbyte_cdk.models import AirbyteMessageSerializer

    from destination_identify.protocol import (
        DestinationAirbyteMessageSerializer,
        destination_catalog_message,
        serialize_message,
    )

    catalog = destination_catalog(vendor("zaius"))
    message = destination_catalog_message(catalog)
    assert orjson.loads(serialize_message(message)) == {"type": "DESTINATION_CATALOG", "destination_catalog": catalog}
    assert DestinationAirbyteMessageSerializer.load(DestinationAirbyteMessageSerializer.dump(message)) == message
    # why the extension exists: the CDK's own message drops the field
    assert AirbyteMessageSerializer.dump(message) == {"type": "DESTINATION_CATALOG"}


def test_discover_is_a_cdk_command():
    from destination_identify.destination import DestinationIdentify

    destination = DestinationIdentify()
    assert destination.VALID_CMDS == {"spec", "check", "write", "discover"}
    parsed = destination.parse_args(["discover", "--config", "c.json"])
    assert (parsed.command, parsed.config) == ("discover", "c.json")
    assert destination.parse_args(["check", "--config", "c.json"]).command == "check"
    assert destination.discover(None, {"vendor": {"vendor": "thrivestack", "api_key": "k"}}) == destination_catalog(
        vendor("thrivestack")
    )


def configured(object_name="user", primary_key=(("user_id",),), mode="append_dedup"):
    stream = {"stream": {"name": "people"}, "destination_sync_mode": mode, "destination_object_name": object_name}
    if primary_key is not None:
        stream["primary_key"] = [list(path) for path in primary_key]
    return {"streams": [stream]}


def test_load_streams_resolves_object_and_matching_key():
    v = vendor("crowdpower")
    (stream,) = load_streams(configured(primary_key=(("email",),)), print, v).values()
    assert stream.operation.object_name == "user" and stream.matching_key == "email"
    assert stream.user_id_field is None  # the matching key is no user-id fallback
    (stream,) = load_streams(configured(primary_key=None), print, v).values()
    assert stream.matching_key is None


@pytest.mark.parametrize(
    "catalog, message",
    [
        (configured(object_name="company"), "stream 'people' asks for destination object 'company', which CrowdPower does not have; its objects: user"),
        (configured(primary_key=(("phone",),)), "stream 'people' matches object 'user' on 'phone', which CrowdPower cannot match users on; use one of: user_id, email"),
        (configured(primary_key=(("user_id",), ("email",))), "on 'user_id, email'"),
        (configured(primary_key=(("profile", "email"),)), "on 'profile.email'"),
    ],
)
def test_load_streams_refuses_unknown_objects_and_keys(catalog, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_streams(catalog, print, vendor("crowdpower"))


def test_load_streams_without_a_vendor_knows_no_objects():
    with pytest.raises(ConfigError, match="which this destination does not have; its objects: none"):
        load_streams(configured(), print)
