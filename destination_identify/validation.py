"""Record validation against the stream's JSON Schema, compiled once per stream.

Nulls pass any declared type, as Airbyte's type system specifies ("by default, all fields are
treated as nullable"): JDBC sources declare columns as `{"type": "string"}` and send null for an
empty one. So the schema both validators compile is `nullable_fields(schema)`, a copy where every
field admits null; `required` still requires a field to be present.

The hot path asks jsonschema-rs (compiled, ~0.8 µs a record) only whether a record is valid.
For the rare record it finds invalid, the reference `jsonschema` library decides: it lists every
error, sorted by path, in words that name the field and the rule but never the value, or finds
none, and then the record is valid. (The two differ on `pattern`, where jsonschema-rs follows
ECMA-262: `\\d` matches ASCII digits only, `$` not before a final newline.) Formats are not
asserted (as in draft-07's default), so Airbyte's own formats and unknown ones never fail a record.
"""

from typing import Any, Callable, Mapping

import jsonschema
import jsonschema_rs

MAX_REASONS = 5
# Where field schemas are declared: by name, and alone (plus `items`, a schema or a list).
_NAMED_FIELDS = ("properties", "patternProperties", "definitions", "$defs")
_SINGLE_FIELDS = ("additionalProperties", "additionalItems")


class SchemaCompileError(Exception):
    pass


def nullable_fields(schema: Mapping[str, Any]) -> dict:
    """A copy of a stream schema where null passes wherever a field is declared: under
    `properties`, `patternProperties`, `additionalProperties`, `items`, `additionalItems`, and
    `definitions`/`$defs` (reached through `$ref`), with `anyOf`/`allOf`/`oneOf` members. A
    field's `type` gains "null", and its `enum` gains null; so do the `anyOf` and `allOf` members
    of a field. A field's `oneOf` is guarded instead (`{"if": {"type": "null"}, "else": {"oneOf":
    ...}}`, moved into `allOf`): null would match every widened member, and oneOf wants exactly
    one. Inside a `oneOf` member, the fields it requires keep their declared types: they tell the
    members apart (a payment by `card` or by `bank`), and a null one matching would make two
    members match. Definitions a `not` refers to stay as declared (widening them would invert
    that `not`). The root is not widened (record data is an object), a `const` keeps refusing
    null, and the input is never changed."""
    derived = _unshared_copy(dict(schema))
    _widen_fields_within(derived, _refs_under_not(derived))
    return derived


def _unshared_copy(value: Any) -> Any:
    """A deep copy where no two places share an object (copy.deepcopy keeps sharing): widening one
    place must not widen another that was the same object (a oneOf member, say)."""
    if isinstance(value, dict):
        return {key: _unshared_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unshared_copy(item) for item in value]
    return value


def _refs_under_not(schema: Any, under_not: bool = False, found: set | None = None) -> set:
    """The `$ref` values used anywhere inside a `not` (field names under `properties` and the
    like are names, not keywords: a field called "not" is no `not`)."""
    found = set() if found is None else found
    if isinstance(schema, dict):
        if under_not and isinstance(schema.get("$ref"), str):
            found.add(schema["$ref"])
        for key, value in schema.items():
            if key in _NAMED_FIELDS or key == "dependencies":
                for item in value.values() if isinstance(value, dict) else ():
                    _refs_under_not(item, under_not, found)
            else:
                _refs_under_not(value, under_not or key == "not", found)
    elif isinstance(schema, list):
        for item in schema:
            _refs_under_not(item, under_not, found)
    return found


def _widen_fields_within(schema: dict, kept_refs: set = frozenset(), required_kept: bool = False) -> None:
    """Widen every field declared below `schema`, not `schema` itself. `not`, `if`/`then`/`else`,
    `contains`, `propertyNames` and `dependencies` are never entered: widening inside `not` would
    invert it, and a null passing the others would change what they mean for other values.
    `kept_refs`: definitions left as declared; `required_kept` (a oneOf member): the fields it
    requires are entered but do not admit null themselves."""
    required = schema.get("required") if required_kept else None
    kept_names = set(required) if isinstance(required, list) else set()
    for keyword in _NAMED_FIELDS:
        fields = schema.get(keyword)
        if isinstance(fields, dict):
            for name, field in fields.items():
                if keyword in ("definitions", "$defs") and f"#/{keyword}/{name}" in kept_refs:
                    continue
                if keyword == "properties" and name in kept_names:
                    if isinstance(field, dict):
                        _widen_fields_within(field, kept_refs)
                    continue
                _widen_field(field, kept_refs)
    for keyword in _SINGLE_FIELDS:
        _widen_field(schema.get(keyword), kept_refs)  # additionalProperties: false is no schema: skipped
    items = schema.get("items")
    for item in items if isinstance(items, list) else (items,):
        _widen_field(item, kept_refs)
    for keyword in ("anyOf", "allOf", "oneOf"):  # members describe the same value as `schema`
        members = schema.get(keyword)
        if isinstance(members, list):
            for member in members:
                if isinstance(member, dict):
                    _widen_fields_within(member, kept_refs, required_kept=keyword == "oneOf")


def _widen_field(schema: Any, kept_refs: set = frozenset()) -> None:
    if isinstance(schema, dict):
        _widen_fields_within(schema, kept_refs)
        _admit_null(schema)


def _admit_null(schema: dict) -> None:
    """Let null pass `schema` itself (its fields are done)."""
    kind = schema.get("type")
    if isinstance(kind, str) and kind != "null":
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = [*kind, "null"]
    enum = schema.get("enum")
    if isinstance(enum, list) and not any(value is None for value in enum):
        schema["enum"] = [*enum, None]
    for keyword in ("anyOf", "allOf"):  # null passes anyOf through any member, allOf through all
        members = schema.get(keyword)
        if isinstance(members, list):
            for member in members:
                if isinstance(member, dict):
                    _admit_null(member)
    one_of = schema.get("oneOf")
    if isinstance(one_of, list):  # after allOf's members: the guard's `if` must stay as it is
        del schema["oneOf"]
        guard = {"if": {"type": "null"}, "else": {"oneOf": one_of}}
        all_of = schema.get("allOf")
        schema["allOf"] = [*all_of, guard] if isinstance(all_of, list) else [guard]


class RecordValidator:
    def __init__(self, schema: Mapping[str, Any]) -> None:
        try:
            self.schema = nullable_fields(schema)  # the one both validators compile
            self._fast = jsonschema_rs.Draft7Validator(self.schema, validate_formats=False)
            jsonschema.Draft7Validator.check_schema(self.schema)
        except (ValueError, RecursionError, jsonschema.SchemaError, jsonschema_rs.ValidationError) as error:
            raise SchemaCompileError(type(error).__name__) from None
        self._reference: jsonschema.Draft7Validator | None = None
        self.is_valid: Callable[[Any], bool] = self._fast.is_valid

    def why_invalid(self, record: Any) -> str | None:
        """For a record `is_valid` refused, the reference's verdict: why the record is invalid
        ('$.age: expected integer or null; $: missing required field 'id''), or None if it finds
        the record valid (jsonschema decides where the two disagree). RecursionError for a value
        nested deeper than Python recurses."""
        if self._reference is None:
            self._reference = jsonschema.Draft7Validator(self.schema)
        errors = sorted(self._reference.iter_errors(record), key=lambda e: [str(p) for p in e.absolute_path])
        if not errors:
            return None
        reasons = [f"{json_path(error.absolute_path)}: {describe(error)}" for error in errors[:MAX_REASONS]]
        if len(errors) > MAX_REASONS:
            reasons.append(f"and {len(errors) - MAX_REASONS} more")
        return "; ".join(reasons)


def json_path(parts) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def describe(error: jsonschema.ValidationError) -> str:
    """The failed rule in words built from the schema only (never from the record's value)."""
    rule, expected = error.validator, error.validator_value
    if rule == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return "expected " + " or ".join(str(kind) for kind in kinds)
    if rule == "required":
        missing = [name for name in expected if isinstance(error.instance, dict) and name not in error.instance]
        return "missing required field " + ", ".join(f"'{name}'" for name in missing)
    if rule == "enum":
        return "not one of the allowed values"
    if rule == "const":
        return "not the required constant"
    if rule == "additionalProperties":
        return "fields not allowed by the schema"
    if rule in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
        return f"violates {rule} {expected}"
    if rule in ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"):
        return f"violates {rule} {expected}"
    if rule == "pattern":
        return "does not match the schema's pattern"
    return f"fails the schema's '{rule}' rule"
