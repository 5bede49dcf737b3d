"""RecordValidator agrees with the reference jsonschema Draft7Validator on the schema both compile
(nulls admitted wherever a field is declared), the reference deciding where jsonschema-rs's
regex rules differ; why_invalid() never leaks values."""

import copy

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from destination_identify.validation import RecordValidator, SchemaCompileError, nullable_fields

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

# As JDBC sources declare columns (single types, never "null"), with every keyword the widening
# enters, and some it must not.
JDBC = {
    "type": "object",
    "required": ["id"],
    "definitions": {"money": {"type": "number", "minimum": 0}},
    "properties": {
        "id": {"type": "number", "airbyte_type": "integer"},
        "phone": {"type": "string"},
        "status": {"type": "string", "enum": ["active", "closed"]},
        "balance": {"$ref": "#/definitions/money"},
        "home": {
            "type": "object",
            "required": ["city"],
            "properties": {"city": {"type": "string"}, "lines": {"type": "array", "items": {"type": "string"}}},
        },
        "pair": {"type": "array", "items": [{"type": "integer"}, {"type": "string"}], "additionalItems": {"type": "boolean"}},
        "external": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "flags": {"type": "object", "patternProperties": {"^f_": {"type": "boolean"}}},
        "either": {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "integer"}]},
        "both": {"allOf": [{"type": "integer"}, {"minimum": 0}]},
        "code": {"const": "X"},
        "not_text": {"not": {"type": "string"}},
        "_ab_cdc_deleted_at": {"type": "string"},
    },
}

# jsonschema-rs reads `pattern` by ECMA-262 (`\d` ASCII only, `$` not before a final newline),
# the reference by Python's re: there the record jsonschema-rs refuses is valid.
PATTERNS = {
    "type": "object",
    "properties": {"zip": {"type": "string", "pattern": "^\\d{5}$"}, "sku": {"type": "string", "pattern": "^[A-Z]+$"}},
}
ECMA_PATTERNS = {"patterns"}  # the schemas on which is_valid alone may differ from the reference

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
    "phone": st.none() | st.text(max_size=8) | st.integers(),
    "status": st.sampled_from(["active", "closed", None, "Active"]),
    "balance": st.none() | st.integers(min_value=-5, max_value=5) | st.floats(allow_nan=False) | st.text(max_size=2),
    "home": st.none()
    | st.fixed_dictionaries(
        {},
        optional={
            "city": st.none() | st.text(max_size=5) | st.integers(),
            "lines": st.none() | st.lists(st.none() | st.text(max_size=5) | st.integers(), max_size=3),
        },
    ),
    "pair": st.none() | st.lists(st.none() | st.integers() | st.text(max_size=3) | st.booleans(), max_size=4),
    "external": st.none() | st.text(max_size=3) | st.integers() | st.floats(allow_nan=False) | st.booleans(),
    "counts": st.none() | st.dictionaries(st.text(max_size=3), st.none() | st.integers() | st.text(max_size=2), max_size=3),
    "flags": st.none()
    | st.dictionaries(st.sampled_from(["f_a", "f_b", "g"]), st.none() | st.booleans() | st.integers(), max_size=3),
    "either": st.none() | st.text(max_size=5) | st.integers() | st.booleans(),
    "both": st.none() | st.integers(min_value=-3, max_value=3) | st.floats(allow_nan=False) | st.text(max_size=2),
    "code": st.sampled_from([None, "X", "Y"]),
    "not_text": st.none() | st.text(max_size=3) | st.integers(),
    "_ab_cdc_deleted_at": st.none() | st.sampled_from(["2024-03-01T12:00:00Z", ""]) | st.integers(),
    "zip": st.none()
    | st.sampled_from(["02101", "٠٢١٠١", "０２１０１", "02101\n", "2101", "ABCDE"])
    | st.text(alphabet="0123456789٠١٢٣٤٥٦٧٨٩\n", max_size=6),
    "sku": st.none() | st.sampled_from(["ABC", "ABC\n", "ABC\n\n", "abc", ""]),
}


def records_for(schema):
    optional = {name: PLAUSIBLE[name] | ANY_JSON for name in schema["properties"]}
    extra = st.dictionaries(st.sampled_from(["extra", "other"]), ANY_JSON, max_size=1)
    return st.builds(lambda known, more: {**more, **known}, st.fixed_dictionaries({}, optional=optional), extra)


# Built once: compiling per example would dominate the run time. Each: the validator, the
# reference on the derived schema (the one both compile), and the reference on the schema as
# declared.
VALIDATORS = {
    name: (RecordValidator(schema), jsonschema.Draft7Validator(nullable_fields(schema)), jsonschema.Draft7Validator(schema))
    for name, schema in (("users", USERS), ("strict", STRICT), ("jdbc", JDBC), ("patterns", PATTERNS))
}


def has_null(value) -> bool:
    if isinstance(value, dict):
        return any(has_null(item) for item in value.values())
    if isinstance(value, list):
        return any(has_null(item) for item in value)
    return value is None


def agree(schema_name, record):
    """The writer's verdict (is_valid, and the reference's why_invalid for a record it refuses)
    is the reference's; is_valid alone is too, except on patterns, where it is only stricter."""
    validator, reference, as_declared = VALIDATORS[schema_name]
    expected = reference.is_valid(record)
    fast = validator.is_valid(record)
    reasons = None if fast else validator.why_invalid(record)
    assert (reasons is None) is expected
    assert fast is expected or (schema_name in ECMA_PATTERNS and expected and not fast)
    # The widening is judged against the schema as declared, not only against itself: it takes
    # every record the declared schema takes, and decides a record without nulls as it does.
    declared = as_declared.is_valid(record)
    assert expected or not declared
    if not has_null(record):
        assert expected is declared


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records_for(USERS))
def test_agrees_with_jsonschema_on_an_airbyte_style_schema(record):
    agree("users", record)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records_for(STRICT))
def test_agrees_with_jsonschema_on_a_strict_schema(record):
    agree("strict", record)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records_for(JDBC))
def test_agrees_with_jsonschema_on_a_jdbc_style_schema_with_nulls_admitted(record):
    agree("jdbc", record)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records_for(PATTERNS))
def test_the_reference_decides_where_the_pattern_dialects_differ(record):
    agree("patterns", record)


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
        ({"id": SECRET}, "$.id: expected integer or null"),
        ({"email": SECRET}, "$: missing required field 'id'"),
        ({"id": 1, "plan": SECRET}, "$.plan: not one of the allowed values"),
        ({"id": 1, "email": [SECRET]}, "$.email: expected null or string"),
        ({"id": 1, "address": {"zip": [SECRET]}}, "$.address.zip: expected string or null"),
        ({"id": 1, "address": {"city": SECRET}}, "$.address: missing required field 'zip'"),
        ({"id": 1, "tags": ["ok", {"v": SECRET}]}, "$.tags[1]: expected string or null"),
    ],
)
def test_why_invalid_names_the_path_and_rule_but_never_the_value(record, explanation):
    text = RecordValidator(USERS).why_invalid(record)
    assert text == explanation
    assert SECRET not in text


def test_why_invalid_strict_rules_without_values():
    validator = RecordValidator(STRICT)
    record = {"user_id": SECRET, "email": SECRET, "age": 999, SECRET: 1}
    text = validator.why_invalid(record)
    assert text == (
        "$: fields not allowed by the schema; "
        "$.age: violates maximum 150; "
        "$.email: does not match the schema's pattern; "
        "$.user_id: violates maxLength 8"
    )
    assert SECRET not in text and "999" not in text


def test_why_invalid_lists_at_most_five_reasons():
    schema = {"type": "object", "properties": {f"f{n}": {"type": "integer"} for n in range(8)}}
    text = RecordValidator(schema).why_invalid({f"f{n}": "x" for n in range(8)})
    assert text.count("expected integer") == 5
    assert text.endswith("; and 3 more")


def test_an_invalid_schema_is_a_compile_error():
    with pytest.raises(SchemaCompileError):
        RecordValidator({"type": "nonsense"})


# ---- nulls pass wherever a field is declared (Airbyte: "by default, all fields are treated as nullable")


def test_nulls_pass_columns_declared_with_a_single_type():
    """A Postgres CDC row: empty columns and `_ab_cdc_deleted_at` are null on every live row."""
    validator = RecordValidator(JDBC)
    row = {"id": 7, "phone": None, "status": None, "balance": None, "external": None, "_ab_cdc_deleted_at": None}
    assert validator.is_valid(row)
    assert validator.is_valid({"id": 7, "home": {"city": None, "lines": ["a", None]}, "pair": [None, None, None]})
    assert validator.is_valid({"id": 7, "counts": {"a": None}, "flags": {"f_a": None}, "either": None, "both": None})


@pytest.mark.parametrize(
    "record, explanation",
    [
        ({"id": None, "phone": 5}, "$.phone: expected string or null"),  # a null id is fine, a number phone is not
        ({"phone": None}, "$: missing required field 'id'"),  # required keeps its meaning
        ({"id": 1, "home": {"lines": None}}, "$.home: missing required field 'city'"),
        ({"id": 1, "status": "open"}, "$.status: not one of the allowed values"),
        ({"id": 1, "balance": -1}, "$.balance: violates minimum 0"),  # through $ref
        ({"id": 1, "pair": [1, "a", "b"]}, "$.pair[2]: expected boolean or null"),
        ({"id": 1, "external": 1.5}, "$.external: fails the schema's 'oneOf' rule"),
        ({"id": 1, "code": None}, "$.code: not the required constant"),  # const is left as it is
        ({"id": 1, "not_text": "a"}, "$.not_text: fails the schema's 'not' rule"),
    ],
)
def test_the_rules_other_than_null_still_hold(record, explanation):
    validator = RecordValidator(JDBC)
    assert not validator.is_valid(record)
    assert validator.why_invalid(record) == explanation


def test_the_root_is_not_widened():
    validator = RecordValidator(JDBC)
    assert nullable_fields(JDBC)["type"] == "object"
    assert not validator.is_valid(None)


def field(schema, name="f"):
    return nullable_fields({"type": "object", "properties": {name: schema}})["properties"][name]


@pytest.mark.parametrize(
    "declared, derived",
    [
        ({"type": "string"}, {"type": ["string", "null"]}),
        ({"type": ["string", "integer"]}, {"type": ["string", "integer", "null"]}),
        ({"type": ["null", "string"]}, {"type": ["null", "string"]}),
        ({"type": "null"}, {"type": "null"}),
        ({"enum": ["a", "b"]}, {"enum": ["a", "b", None]}),
        ({"type": "string", "enum": ["a"]}, {"type": ["string", "null"], "enum": ["a", None]}),
        ({"enum": ["a", None]}, {"enum": ["a", None]}),
        ({"const": "X"}, {"const": "X"}),
        ({"format": "date"}, {"format": "date"}),
        ({"$ref": "#/definitions/d"}, {"$ref": "#/definitions/d"}),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, {"anyOf": [{"type": ["string", "null"]}, {"type": ["integer", "null"]}]}),
        ({"allOf": [{"type": "integer"}, {"minimum": 0}]}, {"allOf": [{"type": ["integer", "null"]}, {"minimum": 0}]}),
        (
            {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            {"allOf": [{"if": {"type": "null"}, "else": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}]},
        ),
        (
            {"type": "object", "oneOf": [{"required": ["a"]}], "allOf": [{"type": "object"}]},
            {
                "type": ["object", "null"],
                "allOf": [{"type": ["object", "null"]}, {"if": {"type": "null"}, "else": {"oneOf": [{"required": ["a"]}]}}],
            },
        ),
    ],
)
def test_a_field_admits_null(declared, derived):
    assert field(declared) == derived


@pytest.mark.parametrize(
    "keyword, declared",
    [
        ("not", {"type": "string"}),
        ("if", {"type": "string"}),
        ("then", {"type": "string", "maxLength": 3}),
        ("else", {"type": "integer"}),
        ("contains", {"type": "string"}),
        ("propertyNames", {"type": "string", "enum": ["a"]}),
        ("dependencies", {"a": {"properties": {"b": {"type": "string"}}}}),
    ],
)
def test_keywords_that_would_change_meaning_are_not_entered(keyword, declared):
    schema = {"type": ["array", "object"], keyword: declared}
    assert field(schema) == {"type": ["array", "object", "null"], keyword: declared}


def test_every_place_a_field_is_declared_is_widened():
    string = {"type": "string"}
    schema = {
        "type": "object",
        "additionalProperties": string,
        "definitions": {"d": {"type": "object", "properties": {"x": string}}},
        "$defs": {"e": {"enum": [1]}},
        "properties": {
            "obj": {"type": "object", "properties": {"inner": {"type": "object", "properties": {"leaf": string}}}},
            "map": {"type": "object", "patternProperties": {"^a": string}, "additionalProperties": False},
            "list": {"type": "array", "items": {"type": "object", "properties": {"x": string}}},
            "tuple": {"type": "array", "items": [string, {"type": "integer"}], "additionalItems": string},
            "ref": {"$ref": "#/definitions/d"},
            "members": {"anyOf": [{"type": "object", "properties": {"x": string}}, {"type": "integer"}]},
            "choice": {"oneOf": [{"type": "object", "properties": {"x": string}}, {"type": "array", "items": string}]},
        },
    }
    derived = nullable_fields(schema)
    widened = {"type": ["string", "null"]}
    properties = derived["properties"]
    assert derived["type"] == "object"  # the root is the record itself
    assert derived["additionalProperties"] == widened
    assert derived["definitions"]["d"] == {"type": ["object", "null"], "properties": {"x": widened}}
    assert derived["$defs"]["e"] == {"enum": [1, None]}
    assert properties["obj"]["properties"]["inner"]["properties"]["leaf"] == widened
    assert properties["obj"]["properties"]["inner"]["type"] == ["object", "null"]
    assert properties["map"] == {"type": ["object", "null"], "patternProperties": {"^a": widened}, "additionalProperties": False}
    assert properties["list"]["items"] == {"type": ["object", "null"], "properties": {"x": widened}}
    assert properties["tuple"]["items"] == [widened, {"type": ["integer", "null"]}]
    assert properties["tuple"]["additionalItems"] == widened
    assert properties["ref"] == {"$ref": "#/definitions/d"}
    assert properties["members"]["anyOf"] == [{"type": ["object", "null"], "properties": {"x": widened}}, {"type": ["integer", "null"]}]
    [guard] = properties["choice"]["allOf"]
    assert guard["else"]["oneOf"] == [{"type": "object", "properties": {"x": widened}}, {"type": "array", "items": widened}]

    validator = RecordValidator(schema)
    record = {
        "obj": {"inner": {"leaf": None}},
        "map": {"ab": None},
        "list": [None, {"x": None}],
        "tuple": [None, None, None],
        "ref": {"x": None},
        "members": None,
        "choice": None,
        "other": None,
    }
    assert validator.is_valid(record)
    assert jsonschema.Draft7Validator(validator.schema).is_valid(record)
    assert validator.is_valid({"ref": None}) and validator.is_valid({"choice": {"x": None}})
    assert not validator.is_valid({"ref": {"x": 1}}) and not validator.is_valid({"choice": 1})


def test_a_oneof_field_takes_null_even_when_several_members_would():
    """Widening each member would let null match both, which oneOf refuses."""
    validator = RecordValidator({"type": "object", "properties": {"id": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}})
    reference = jsonschema.Draft7Validator(validator.schema)
    for value, valid in ((None, True), ("a", True), (1, True), (1.5, False), (True, False)):
        assert validator.is_valid({"id": value}) is valid
        assert reference.is_valid({"id": value}) is valid


def test_a_oneof_told_apart_by_a_field_keeps_its_meaning():
    """Widening `bank` inside the second member would let a card payment with `bank: null` match
    both members, which oneOf refuses: the record was valid as declared."""
    card = {"type": "object", "properties": {"card": {"type": "object"}}, "required": ["card"]}
    bank = {"type": "object", "properties": {"bank": {"type": "object"}}, "required": ["bank"]}
    validator = RecordValidator({"type": "object", "properties": {"payment": {"oneOf": [card, bank]}}})
    record = {"payment": {"card": {"last4": "4242"}, "bank": None}}
    assert jsonschema.Draft7Validator({"type": "object", "properties": {"payment": {"oneOf": [card, bank]}}}).is_valid(record)
    assert validator.is_valid(record)
    assert validator.is_valid({"payment": None})


def test_a_definition_a_not_refers_to_is_not_widened():
    """Widened, `num` would take null, and `not num` would refuse the null it took as declared."""
    schema = {
        "type": "object",
        "definitions": {"num": {"type": "number"}, "text": {"type": "string"}},
        "properties": {"code": {"not": {"$ref": "#/definitions/num"}}, "label": {"$ref": "#/definitions/text"}},
    }
    validator = RecordValidator(schema)
    assert validator.schema["definitions"] == {"num": {"type": "number"}, "text": {"type": ["string", "null"]}}
    assert validator.is_valid({"code": None}) and validator.is_valid({"code": "a"})
    assert not validator.is_valid({"code": 1})
    assert validator.is_valid({"label": None})  # the other definitions admit null as everywhere


def test_a_field_named_not_is_no_not():
    schema = {
        "type": "object",
        "definitions": {"addr": {"type": "object", "properties": {"city": {"type": "string"}}}},
        "properties": {"address": {"$ref": "#/definitions/addr"}, "not": {"$ref": "#/definitions/addr"}},
    }
    assert RecordValidator(schema).is_valid({"address": {"city": None}, "not": None})


def test_inside_a_oneof_member_only_the_fields_it_requires_keep_their_types():
    """A member's optional fields admit null as anywhere else; the ones it requires tell the
    members apart."""
    card = {"type": "object", "properties": {"kind": {"const": "card"}, "last4": {"type": "string"}}, "required": ["kind"]}
    bank = {"type": "object", "properties": {"kind": {"const": "bank"}, "iban": {"type": "string"}}, "required": ["kind"]}
    validator = RecordValidator({"type": "object", "properties": {"method": {"oneOf": [card, bank]}}})
    assert validator.is_valid({"method": {"kind": "card", "last4": None}})
    assert not validator.is_valid({"method": {"kind": None}})


def test_the_catalogs_schema_is_never_changed():
    before = copy.deepcopy(JDBC)
    derived = nullable_fields(JDBC)
    validator = RecordValidator(JDBC)
    assert JDBC == before
    assert derived == validator.schema and derived is not JDBC
    assert derived["properties"]["phone"] is not JDBC["properties"]["phone"]


def test_both_validators_compile_the_derived_schema():
    """why_invalid() (the reference) sees the same schema as is_valid (jsonschema-rs): a record with
    a null column and a wrong one is explained by the wrong one alone."""
    validator = RecordValidator(JDBC)
    assert validator.why_invalid({"id": 1, "phone": None, "status": 3}) == "$.status: expected string or null; $.status: not one of the allowed values"


# ---- where jsonschema-rs and jsonschema disagree, jsonschema decides


@pytest.mark.parametrize("zip_code", ["٠٢١٠١", "０２１０１", "02101\n"])
def test_a_record_only_jsonschema_rs_refuses_is_valid(zip_code):
    """Arabic-Indic and full-width digits are `\\d` to Python's re, not to ECMA-262; Python's `$`
    matches before a final newline."""
    validator = RecordValidator(PATTERNS)
    assert not validator.is_valid({"zip": zip_code})  # what the hot path sees
    assert validator.why_invalid({"zip": zip_code}) is None  # what decides


def test_a_record_both_refuse_keeps_its_reasons():
    validator = RecordValidator(PATTERNS)
    assert validator.why_invalid({"zip": "ABCDE", "sku": 1}) == (
        "$.sku: expected string or null; $.zip: does not match the schema's pattern"
    )
