"""Record validation against the stream's JSON Schema, compiled once per stream.

The hot path asks jsonschema-rs (compiled, ~0.8 µs a record) only whether a record is valid.
For the rare invalid record, the reference `jsonschema` library lists every error, sorted by
path, in words that name the field and the rule but never the value. Formats are not asserted
(as in draft-07's default), so Airbyte's own formats and unknown ones never fail a record.
"""

from typing import Any, Callable, Mapping

import jsonschema
import jsonschema_rs

MAX_REASONS = 5


class SchemaCompileError(Exception):
    pass


class RecordValidator:
    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._schema = dict(schema)
        try:
            self._fast = jsonschema_rs.Draft7Validator(self._schema, validate_formats=False)
            jsonschema.Draft7Validator.check_schema(self._schema)
        except (ValueError, jsonschema.SchemaError, jsonschema_rs.ValidationError) as error:
            raise SchemaCompileError(type(error).__name__) from None
        self._reference: jsonschema.Draft7Validator | None = None
        self.is_valid: Callable[[Any], bool] = self._fast.is_valid

    def explain(self, record: Any) -> str:
        """Why a record is invalid: '$.age: expected integer; $: missing required field 'id''."""
        if self._reference is None:
            self._reference = jsonschema.Draft7Validator(self._schema)
        errors = sorted(self._reference.iter_errors(record), key=lambda e: [str(p) for p in e.absolute_path])
        if not errors:
            return "invalid by the stream schema"
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
