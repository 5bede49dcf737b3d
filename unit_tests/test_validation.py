"""RecordValidator agrees with the reference jsonschema Draft7Validator; explain() never leaks values."""

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from destination_identify.validation import RecordValidator, SchemaCompileError

NULLABLE_STRING = {"type": ["null", "string"]}

USERS = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "integer"},
        "email": NULLABLE_STRING,
        "score": {"type": ["null", "number"]},
        "active": {"type": ["boolean", "null"]},
        "created_at": {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
        "birthday": {"type": ["null", "string"], "format": "date"},
        "plan": {"enum": ["free", "pro", None]},
        "address": {
            "type": ["null", "object"],
            "required": ["zip"],
            "properties": {"city": NULLABLE_STRING, "zip": {"type": "string"}},
        },
        "tags": {"type": ["null", "array"], "items": {"type": "string"}},
    },
}

STRICT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["user_id", "email"],
    "properties": {
        "user_id": {"type": "string", "minLength": 1, "maxLength": 8},
        "email": {"type": "string", "pattern": "^[^@]+@[^@]+$"},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "company": {"type": "object", "properties": {"id": {"type": ["string", "integer"]}}},
    },
}

ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)

PLAUSIBLE = {
    "id": st.integers(min_value=-(2**63), max_value=2**63) | st.floats(allow_nan=False, allow_infinity=False),
    "email": st.none() | st.text(max_size=20),
    "score": st.none() | st.integers() | st.floats(allow_nan=False, allow_infinity=False),
    "active": st.none() | st.booleans(),
    "created_at": st.none() | st.sampled_from(["2024-03-01T12:00:00Z", "2024-03-01", "not a date", ""]),
    "birthday": st.none() | st.sampled_from(["1815-12-10", "yesterday"]),
    "plan": st.sampled_from(["free", "pro", None, "Pro", "enterprise", 0]),
    "address": st.none()
    | st.fixed_dictionaries({}, optional={"city": st.none() | st.text(max_size=5), "zip": st.text(max_size=5) | st.integers()}),
    "tags": st.none() | st.lists(st.text(max_size=5) | st.integers(), max_size=3),
    "user_id": st.text(max_size=10),
    "age": st.integers(min_value=-5, max_value=200) | st.floats(min_value=-1, max_value=151, allow_nan=False),
    "company": st.fixed_dictionaries({}, optional={"id": st.text(max_size=4) | st.integers() | st.booleans()}),
}


def records_for(schema):
    optional = {name: PLAUSIBLE[name] | ANY_JSON for name in schema["properties"]}
    extra = st.dictionaries(st.sampled_from(["extra", "other"]), ANY_JSON, max_size=1)
    return st.builds(lambda known, more: {**more, **known}, st.fixed_dictionaries({}, optional=optional), extra)


# Built once: compiling per example would dominate the run time.
VALIDATORS = {
    "users": (RecordValidator(USERS), jsonschema.Draft7Validator(USERS)),
    "strict": (RecordValidator(STRICT), jsonschema.Draft7Validator(STRICT)),
}


def agree(schema_name, record):
    validator, reference = VALIDATORS[schema_name]
    expected = reference.is_valid(record)
    assert validator.is_valid(record) is expected
    if not expected:
        assert validator.explain(record) != "invalid by the stream schema"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records_for(USERS))
def test_agrees_with_jsonschema_on_an_airbyte_style_schema(record):
    agree("users", record)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records_for(STRICT))
def test_agrees_with_jsonschema_on_a_strict_schema(record):
    agree("strict", record)


@pytest.mark.parametrize(
    "record, valid",
    [
        ({"id": 1}, True),
        ({"id": 1, "email": None, "score": None, "active": None, "tags": None, "address": None, "plan": None}, True),
        ({"id": 1.0}, True),  # draft-07: an integral float is an integer
        ({"id": 1.5}, False),
        ({"id": True}, False),
        ({"email": "a@example.com"}, False),  # id required
        ({"id": 1, "created_at": "not a date"}, True),  # formats are annotations, not assertions
        ({"id": 1, "plan": "enterprise"}, False),
        ({"id": 1, "address": {"city": "Oslo"}}, False),  # nested required
        ({"id": 1, "tags": ["a", 2]}, False),
        ({"id": 1, "unknown": {"deep": [1]}}, True),
    ],
)
def test_known_cases(record, valid):
    assert RecordValidator(USERS).is_valid(record) is valid
    assert jsonschema.Draft7Validator(USERS).is_valid(record) is valid


SECRET = "ZZ-secret-value-4711"


@pytest.mark.parametrize(
    "record, explanation",
    [
        ({"id": SECRET}, "$.id: expected integer"),
        ({"email": SECRET}, "$: missing required field 'id'"),
        ({"id": 1, "plan": SECRET}, "$.plan: not one of the allowed values"),
        ({"id": 1, "email": [SECRET]}, "$.email: expected null or string"),
        ({"id": 1, "address": {"zip": [SECRET]}}, "$.address.zip: expected string"),
        ({"id": 1, "address": {"city": SECRET}}, "$.address: missing required field 'zip'"),
        ({"id": 1, "tags": ["ok", {"v": SECRET}]}, "$.tags[1]: expected string"),
    ],
)
def test_explain_names_the_path_and_rule_but_never_the_value(record, explanation):
    text = RecordValidator(USERS).explain(record)
    assert text == explanation
    assert SECRET not in text


def test_explain_strict_rules_without_values():
    validator = RecordValidator(STRICT)
    record = {"user_id": SECRET, "email": SECRET, "age": 999, SECRET: 1}
    text = validator.explain(record)
    assert text == (
        "$: fields not allowed by the schema; "
        "$.age: violates maximum 150; "
        "$.email: does not match the schema's pattern; "
        "$.user_id: violates maxLength 8"
    )
    assert SECRET not in text and "999" not in text


def test_explain_lists_at_most_five_reasons():
    schema = {"type": "object", "properties": {f"f{n}": {"type": "integer"} for n in range(8)}}
    text = RecordValidator(schema).explain({f"f{n}": "x" for n in range(8)})
    assert text.count("expected integer") == 5
    assert text.endswith("; and 3 more")


def test_an_invalid_schema_is_a_compile_error():
    with pytest.raises(SchemaCompileError):
        RecordValidator({"type": "nonsense"})
