"""Pure value conversions shared by the vendor tables.

Each converter returns the vendor-ready value or raises `RecordRejected` with a reason that
names the kind of problem, never the value itself (values may be personal data).
"""

import json
import math
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Mapping

import orjson

from destination_identify.errors import RecordRejected
from destination_identify.fields import drop_nulls

NO_USER_ID = "no user id (user_id, userId or the stream's primary key)"

_EPOCH_MS_THRESHOLD = 100_000_000_000  # above this a number is epoch milliseconds (year 5138 in seconds)
_EXACT_FLOAT_INTEGER = 2**53  # above this, floats skip integers: the id would be a guess
_DATE_TIME_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def number_text(value: int | float) -> str:
    """Shortest decimal text: 3 -> "3", 3.0 -> "3", 3.25 -> "3.25", 1e20 -> "100000000000000000000"."""
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text


def scalar_text(value: Any, field: str) -> str:
    """Text for a scalar: strings as they are, numbers as shortest decimal, booleans true/false."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        try:
            return number_text(value)
        except ValueError:
            raise RecordRejected(f"{field}: not a finite number") from None
    raise RecordRejected(f"{field}: expected text, got {type_name(value)}")


def json_scalar(value: Any, field: str) -> Any:
    """Where a vendor takes flat JSON scalars: strings, numbers and booleans as they are (NaN and
    infinity rejected), anything else as text or rejected by `scalar_text`."""
    kind = value.__class__
    if kind is str or kind is bool or kind is int:
        return value
    if kind is float:  # checked, not turned into text and thrown away
        if math.isfinite(value):
            return value
        raise RecordRejected(f"{field}: not a finite number")
    if isinstance(value, (int, float)):  # subclasses
        scalar_text(value, field)
        return value
    return scalar_text(value, field)


def identifier_text(value: Any, field: str) -> str:
    """An identifier: a non-empty string, or an integer (sent as its decimal text)."""
    if isinstance(value, str):
        if value.strip():
            return value
        raise RecordRejected(f"{field}: empty")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        if abs(value) <= _EXACT_FLOAT_INTEGER:
            return str(int(value))
        raise RecordRejected(f"{field}: a number too large to be an exact identifier (send it as text)")
    raise RecordRejected(f"{field}: expected a string or integer identifier, got {type_name(value)}")


def text_list(value: Any, field: str) -> list[str]:
    """A list of strings (Thrivestack's phone list): one value becomes a list of one."""
    items = value if isinstance(value, list) else [value]
    return [scalar_text(item, field) for item in items if item is not None]


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def parse_timestamp(value: Any, field: str) -> datetime:
    """A point in time from ISO-8601 (zone optional: none means UTC), a date, epoch s or ms."""
    if isinstance(value, bool):
        raise RecordRejected(f"{field}: expected a timestamp, got boolean")
    if isinstance(value, (int, float)):
        seconds = value / 1000 if abs(value) >= _EPOCH_MS_THRESHOLD else value
        try:
            return datetime.fromtimestamp(seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise RecordRejected(f"{field}: epoch number out of range") from None
    if isinstance(value, str):
        text = value.strip()
        if _looks_numeric(text):
            return parse_timestamp(float(text) if "." in text else int(text), field)
        try:
            if len(text) == 10:
                parsed_date = date.fromisoformat(text)
                return datetime(parsed_date.year, parsed_date.month, parsed_date.day, tzinfo=timezone.utc)
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            raise RecordRejected(f"{field}: not an ISO-8601 date or date-time") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed
    raise RecordRejected(f"{field}: expected a timestamp, got {type_name(value)}")


def _looks_numeric(text: str) -> bool:
    """Epoch digits: ASCII only ("²".isdigit() is true, and int() refuses it)."""
    body = text[1:] if text[:1] == "-" else text
    return bool(body) and body.isascii() and body.replace(".", "", 1).isdigit()


def unix_seconds(value: Any, field: str) -> int:
    """Integer UNIX seconds (CrowdPower's `signed_up_at`)."""
    return int(parse_timestamp(value, field).timestamp())


def iso_utc(value: Any, field: str) -> str:
    """ISO-8601 in UTC with a `Z`, millisecond precision."""
    return _iso_z(parse_timestamp(value, field))


def _iso_z(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def is_date_time_text(value: Any) -> bool:
    """True for strings that start like ISO-8601 date-times (not plain dates): a cheap first
    test; free text may start so too (see `date_time_seconds`)."""
    return (
        isinstance(value, str)
        and len(value) >= 16
        and value[4:5] == "-"
        and _DATE_TIME_PREFIX.match(value) is not None
    )


def date_time_seconds(value: Any) -> int | None:
    """UNIX seconds of a string that is wholly an ISO-8601 date-time; None for anything else: a
    plain date, or free text that only starts like a date-time ("2024-01-15 10:30 called")."""
    if not is_date_time_text(value):
        return None
    try:
        return unix_seconds(value, "")
    except RecordRejected:
        return None


def same_value(first: Any, second: Any) -> bool:
    """Whether two flat values would be sent as the same JSON: same class and equal (so 1 is not
    True nor 1.0, and 0.0 is not -0.0)."""
    if first.__class__ is not second.__class__ or first != second:
        return False
    return first.__class__ is not float or math.copysign(1.0, first) == math.copysign(1.0, second)


def flatten(fields: dict[str, Any], leaf: Callable[[Any, str], Any]) -> dict[str, Any]:
    """Nested objects become `parent_child` keys; lists of scalars are joined with ", ".

    `leaf(value, key)` converts every scalar. A list holding objects or lists has no faithful
    flat form: it is sent as its compact JSON text (`json_text`), under the key it would have
    had, as Airbyte's type system lets a destination fall back to text. Two fields that flatten
    to one key are sent once when their converted values are the same (source-hubspot's
    `properties` object beside its flattened `properties_*` columns), at the place of the first;
    with different values they reject the record.
    """
    flat: dict[str, Any] = {}
    _flatten_into(flat, fields, leaf, "")
    return flat


def _flatten_into(flat: dict[str, Any], fields: Mapping[str, Any], leaf: Callable[[Any, str], Any], prefix: str) -> None:
    """Depth first, straight into `flat`: nested objects need no dict of their own. Exact
    classes are tested first (JSON gives nothing else), then isinstance for subclasses."""
    for key, value in fields.items():
        name = f"{prefix}_{key}" if prefix else key if key.__class__ is str else str(key)
        kind = value.__class__
        if kind is dict or (kind is not list and isinstance(value, dict)):
            _flatten_into(flat, value, leaf, name)
            continue
        if kind is list or isinstance(value, list):
            value = _joined(value, name)
        else:
            value = leaf(value, name)
        if name in flat:  # `a.b` and a top-level `a_b`: one value sent once, two rejected, none lost
            if same_value(flat[name], value):
                continue
            raise RecordRejected(f"two fields flatten to '{name}'; rename one")
        flat[name] = value


def _joined(items: list, name: str) -> str:
    for item in items:
        if item.__class__ is not str:
            break
    else:  # the common list of strings
        return ", ".join(items)
    if any(isinstance(item, (dict, list)) for item in items):
        return json_text(items, name)
    return ", ".join(scalar_text(item, name) for item in items)


def exact_json(value: Any) -> str:
    """Compact JSON by the standard library, which writes integers past 64 bits exactly (orjson
    refuses them): for values read again from a line by `json.loads`. ValueError for NaN."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def json_text(value: Any, name: str) -> str:
    """A value with no flat form as compact JSON text, its nulls dropped first as a record's nulls
    are everywhere: orjson's text, as the payload's own; the standard library's where orjson
    cannot write the value (an integer past 64 bits, read exactly from a NUMBER(38) record, or
    more than 255 levels of nesting). (NaN never gets here: orjson refuses it in a record's line,
    and only lines orjson read are read again by the standard library.)"""
    value = drop_nulls(value)
    if value is None:
        value = []
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        pass
    try:
        return exact_json(value)
    except ValueError:
        raise RecordRejected(f"{name}: not a finite number") from None
