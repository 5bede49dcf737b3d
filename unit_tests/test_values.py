"""Value conversions shared by the vendor tables."""

import math
import time

import pytest

from destination_identify.errors import RecordRejected
from destination_identify.values import (
    date_time_seconds,
    flatten,
    identifier_text,
    is_date_time_text,
    iso_utc,
    json_scalar,
    number_text,
    scalar_text,
    text_list,
    type_name,
    unix_seconds,
)


@pytest.mark.parametrize(
    "value, text",
    [
        (3, "3"),
        (-7, "-7"),
        (3.0, "3"),
        (3.25, "3.25"),
        (0.1, "0.1"),
        (-0.0, "0"),
        (1e20, "100000000000000000000"),
        (1e16, "10000000000000000"),
        (1.5e-7, "0.00000015"),
        (-2.5e-5, "-0.000025"),
        (2**70, "1180591620717411303424"),
    ],
)
def test_number_text_is_the_shortest_plain_decimal(value, text):
    assert number_text(value) == text


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_number_text_refuses_non_finite_numbers(value):
    with pytest.raises(ValueError):
        number_text(value)


@pytest.mark.parametrize(
    "value, text",
    [("abc", "abc"), ("", ""), (True, "true"), (False, "false"), (0, "0"), (3.25, "3.25"), (1e20, "100000000000000000000")],
)
def test_scalar_text(value, text):
    assert scalar_text(value, "f") == text


@pytest.mark.parametrize(
    "value, reason",
    [
        ({"a": 1}, "f: expected text, got object"),
        ([1], "f: expected text, got list"),
        (math.nan, "f: not a finite number"),
    ],
)
def test_scalar_text_rejects_with_a_reason(value, reason):
    with pytest.raises(RecordRejected) as caught:
        scalar_text(value, "f")
    assert caught.value.reason == reason


@pytest.mark.parametrize("value, text", [("u1", "u1"), (42, "42"), (42.0, "42"), (0, "0")])
def test_identifier_text(value, text):
    assert identifier_text(value, "user_id") == text


@pytest.mark.parametrize(
    "value, reason",
    [
        ("  ", "user_id: empty"),
        (True, "user_id: expected a string or integer identifier, got boolean"),
        (4.5, "user_id: expected a string or integer identifier, got number"),
        ({"id": 1}, "user_id: expected a string or integer identifier, got object"),
    ],
)
def test_identifier_text_rejects(value, reason):
    with pytest.raises(RecordRejected) as caught:
        identifier_text(value, "user_id")
    assert caught.value.reason == reason


def test_text_list_wraps_one_value_and_converts_each():
    assert text_list("+1 555 0100", "phone") == ["+1 555 0100"]
    assert text_list(["+1 555 0100", 5550101, None], "phone") == ["+1 555 0100", "5550101"]


@pytest.mark.parametrize(
    "value, seconds, iso",
    [
        (1709294400, 1709294400, "2024-03-01T12:00:00.000Z"),  # epoch seconds (PyAirbyte's emitted_at)
        (1709294400123, 1709294400, "2024-03-01T12:00:00.123Z"),  # epoch milliseconds (the protocol's emitted_at)
        (1709294400.5, 1709294400, "2024-03-01T12:00:00.500Z"),
        ("1709294400", 1709294400, "2024-03-01T12:00:00.000Z"),  # numeric text
        ("2024-03-01T12:00:00Z", 1709294400, "2024-03-01T12:00:00.000Z"),
        ("2024-03-01T12:00:00.250z", 1709294400, "2024-03-01T12:00:00.250Z"),
        ("2024-03-01T14:00:00+02:00", 1709294400, "2024-03-01T12:00:00.000Z"),
        ("2024-03-01 07:00:00-05:00", 1709294400, "2024-03-01T12:00:00.000Z"),
        ("2024-03-01T12:00:00", 1709294400, "2024-03-01T12:00:00.000Z"),  # no zone: UTC
        ("2024-03-01", 1709251200, "2024-03-01T00:00:00.000Z"),  # a date
    ],
)
def test_timestamps_in_every_accepted_form(value, seconds, iso):
    assert unix_seconds(value, "created_at") == seconds
    assert iso_utc(value, "created_at") == iso


@pytest.mark.parametrize(
    "value, reason",
    [
        ("next tuesday", "created_at: not an ISO-8601 date or date-time"),
        ("2024-13-45", "created_at: not an ISO-8601 date or date-time"),
        (True, "created_at: expected a timestamp, got boolean"),
        ([2024], "created_at: expected a timestamp, got list"),
        (1e30, "created_at: epoch number out of range"),
    ],
)
def test_unparseable_timestamps_are_rejected_without_the_value(value, reason):
    with pytest.raises(RecordRejected) as caught:
        unix_seconds(value, "created_at")
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2024-03-01T12:00:00Z", True),
        ("2024-03-01 12:00", True),
        ("2024-03-01", False),
        ("12:00 2024-03-01", False),
        (1709294400, False),
    ],
)
def test_is_date_time_text(value, expected):
    assert is_date_time_text(value) is expected


@pytest.mark.parametrize(
    "value, seconds",
    [
        ("2024-01-15T10:30:00Z", 1705314600),
        ("2024-01-15 10:30", 1705314600),
        ("2024-01-15T11:30:00.000+01:00", 1705314600),
        ("2024-01-15", None),  # a plain date is not a date-time
        ("2024-01-15 10:30 called, wants refund", None),  # free text that starts like one
        ("2024-01-15T10:30:00Z, 2024-02-01T10:30:00Z", None),
        ("2024-02-30T10:30:00Z", None),  # no such day: the text it is
        ("called 2024-01-15 10:30", None),
        (1705314600, None),
    ],
)
def test_date_time_seconds_only_for_text_that_is_wholly_a_date_time(value, seconds):
    assert date_time_seconds(value) == seconds


def test_flatten_joins_nested_keys_with_underscore_and_lists_with_comma_space():
    fields = {"address": {"city": "Oslo", "geo": {"lat": 59.9}}, "tags": ["a", "b", 3], "ok": True, "n": 0}
    assert flatten(fields, lambda value, key: value) == {
        "address_city": "Oslo",
        "address_geo_lat": 59.9,
        "tags": "a, b, 3",
        "ok": True,
        "n": 0,
    }


def test_flatten_passes_the_flat_key_to_the_leaf_converter():
    seen = []
    flatten({"a": {"b": 1}}, lambda value, key: seen.append(key))
    assert seen == ["a_b"]


@pytest.mark.parametrize(
    "orders, text",
    [
        ([{"id": 1}], '[{"id":1}]'),
        (["a", {"id": 1}], '["a",{"id":1}]'),
        (["a", ["b"]], '["a",["b"]]'),
        ([{"id": 1, "note": None, "lines": [{"sku": "x", "gift": None}, None]}, None], '[{"id":1,"lines":[{"sku":"x"}]}]'),
        ([{"name": "Zoë ✓", "q": 'say "hi"\n'}], '[{"name":"Zoë ✓","q":"say \\"hi\\"\\n"}]'),
        ([{"price": 1.5, "big": 1e20, "ok": True}], '[{"price":1.5,"big":1e+20,"ok":true}]'),
    ],
)
def test_flatten_sends_a_list_holding_objects_or_lists_as_its_compact_json_text(orders, text):
    flat = flatten({"user": {"orders": orders}, "n": 1}, json_scalar)
    assert flat == {"user_orders": text, "n": 1}


def test_json_text_falls_back_to_the_standard_library_for_what_orjson_cannot_write():
    assert flatten({"ids": [{"id": 2**70}]}, json_scalar) == {"ids": '[{"id":1180591620717411303424}]'}
    deep = [1]
    for _ in range(300):  # orjson writes at most 255 levels
        deep = [deep]
    assert flatten({"deep": deep}, json_scalar) == {"deep": "[" * 301 + "1" + "]" * 301}


def test_flatten_joins_a_list_of_strings_as_it_is_and_an_empty_list_as_empty_text():
    assert flatten({"tags": ["beta", "vip"], "none": []}, lambda value, key: value) == {"tags": "beta, vip", "none": ""}


@pytest.mark.parametrize(
    "value, name",
    [(None, "null"), (True, "boolean"), (1, "number"), (1.5, "number"), ("", "string"), ([], "list"), ({}, "object")],
)
def test_type_name(value, name):
    assert type_name(value) == name



@pytest.mark.parametrize(
    "fields, key",
    [
        ({"prefs": {"a": 1}, "prefs_a": 2}, "prefs_a"),
        ({"prefs_a": 2, "prefs": {"a": 1}}, "prefs_a"),
        ({"a": {"b": {"c": 1}}, "a_b": {"c": 2}}, "a_b_c"),
        ({"a_b": ["x", "y"], "a": {"b": 1}}, "a_b"),
    ],
)
def test_flatten_rejects_two_fields_that_become_one_key_instead_of_losing_one(fields, key):
    with pytest.raises(RecordRejected) as caught:
        flatten(fields, lambda value, name: value)
    assert caught.value.reason == f"two fields flatten to '{key}'; rename one"


@pytest.mark.parametrize(
    "value, iso",
    [
        (-315619200000, "1960-01-01T00:00:00.000Z"),  # before 1970, in epoch milliseconds
        ("-86400", "1969-12-31T00:00:00.000Z"),  # negative epoch seconds, as text
        (99_999_999_999, "5138-11-16T09:46:39.000Z"),  # the largest number read as seconds
        (100_000_000_000, "1973-03-03T09:46:40.000Z"),  # the smallest read as milliseconds
    ],
)
def test_epoch_numbers_at_the_edges_of_seconds_and_milliseconds(value, iso):
    assert iso_utc(value, "created_at") == iso


@pytest.mark.parametrize("text", ["²", "1²", "-³", "１２３"])  # superscripts: isdigit() but not int(); full-width digits
def test_digits_that_are_not_ascii_are_no_epoch_but_a_rejection_with_its_reason(text):
    """A property test found "²" as a timestamp crash the mapping with a ValueError (a sync-ending
    'unexpected' error) instead of rejecting the row."""
    with pytest.raises(RecordRejected) as caught:
        iso_utc(text, "created_at")
    assert caught.value.reason == "created_at: not an ISO-8601 date or date-time"


def test_a_date_is_midnight_utc_whatever_the_machines_time_zone(monkeypatch):
    """The tests run in UTC, like Airbyte's images; a date read in local time would pass there."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert unix_seconds("2024-03-01", "created_at") == 1709251200
        assert iso_utc("2024-03-01", "created_at") == "2024-03-01T00:00:00.000Z"
        assert iso_utc("2024-03-01T10:00:00", "created_at") == "2024-03-01T10:00:00.000Z"  # no zone: UTC
    finally:
        monkeypatch.undo()  # TZ as it was, then read again
        time.tzset()


# ---- two fields flattening to one key with the same value (source-hubspot's `properties` and
# its flattened `properties_*` columns) -----------------------------------------------------


def test_flatten_sends_two_fields_with_equal_values_once_at_the_first_ones_place():
    hubspot = {
        "id": "151",
        "properties": {"email": "m@x.es", "n": 2, "ok": True},
        "properties_email": "m@x.es",
        "properties_n": 2,
        "properties_ok": True,
    }
    flat = flatten(hubspot, json_scalar)
    assert list(flat.items()) == [
        ("id", "151"), ("properties_email", "m@x.es"), ("properties_n", 2), ("properties_ok", True)
    ]
    columns_first = {"properties_ok": True, "id": "151", "properties": {"n": 2, "ok": True}}
    assert list(flatten(columns_first, json_scalar).items()) == [("properties_ok", True), ("id", "151"), ("properties_n", 2)]


def test_flatten_compares_equal_values_after_the_leaf_conversion():
    assert flatten({"a": {"b": ["x", "y"]}, "a_b": "x, y"}, json_scalar) == {"a_b": "x, y"}
    assert flatten({"a": {"b": 1}, "a_b": "1"}, scalar_text) == {"a_b": "1"}  # the same text is sent either way


@pytest.mark.parametrize(
    "fields",
    [
        {"p": {"n": 1}, "p_n": True},  # equal in Python, not in JSON
        {"p": {"n": 1}, "p_n": 1.0},
        {"p": {"n": 0.0}, "p_n": -0.0},
        {"p": {"n": 1}, "p_n": "1"},
        {"p": {"n": "a"}, "p_n": "A"},
    ],
)
def test_flatten_still_rejects_two_fields_with_different_values(fields):
    with pytest.raises(RecordRejected) as caught:
        flatten(fields, json_scalar)
    assert caught.value.reason == "two fields flatten to 'p_n'; rename one"
