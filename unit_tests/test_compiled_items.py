"""Compiled per-layout mapping equals the vendor's general mapping, byte for byte and reason for reason."""

import json

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from destination_identify.compiled_items import CompiledItems
from destination_identify.errors import RecordRejected
from destination_identify.fields import TOP_LEVEL_ALIASES
from destination_identify.vendors import vendor_from_config

EMITTED = 1732262400000
_ALIASES = sorted({alias for aliases in TOP_LEVEL_ALIASES.values() for alias in aliases})
_KEYS = st.sampled_from(
    _ALIASES + ["id", "plan", "tags", "address", "company", "_airbyte_raw_id", "enrichment_city", "traits"]
    + ["EMAIL", "FirstName", "USER_ID", "Company", "CITY", "_ab_cdc_lsn"]  # other spellings, CDC columns
)
_SUB_KEYS = st.sampled_from(["city", "street", "zip", "postal_code", "country", "id", "name", "line3", "_airbyte_x", "City", "ID"])
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**60), 2**60), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=4)
)
_INNER = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3), st.dictionaries(st.text(max_size=3), _SCALARS, max_size=2))
_VALUES = st.one_of(_SCALARS, _SCALARS, st.dictionaries(_SUB_KEYS, _INNER, max_size=4), st.lists(_INNER, max_size=3))
_RECORDS = st.dictionaries(_KEYS, _VALUES, max_size=9)


def thrivestack():
    """A fresh vendor each time: each holds its own compiled layouts."""
    return vendor_from_config({"vendor": "thrivestack", "api_key": "k"})


def outcome(map_record, data, user_id_field):
    """The JSON bytes of the item (key order included), or the rejection reason."""
    try:
        return json.dumps(map_record(data, EMITTED, user_id_field))
    except RecordRejected as rejection:
        return "rejected: " + rejection.reason


@settings(max_examples=600, deadline=None)
@given(first=_RECORDS, second=_RECORDS, user_id_field=st.sampled_from([None, "id", "plan", "address"]))
def test_compiled_thrivestack_events_equal_the_general_mapping(first, second, user_id_field):
    vendor = thrivestack()
    # `second` reuses the layout compiled for `first` when its keys are the same, in the same order.
    second = {key: second.get(key) for key in first} if len(second) % 2 else second
    for data in (first, second):
        assert outcome(vendor.map_record, data, user_id_field) == outcome(vendor.map_generally, data, user_id_field)


def compiled_only(vendor):
    """The vendor's compiled layouts with no general fallback: None means 'not compiled'."""
    return CompiledItems(vendor._compiled.shape, general=lambda *arguments: None).map_record


def test_a_layout_is_compiled_per_shape_of_its_nested_objects():
    vendor = thrivestack()
    compiled = compiled_only(vendor)
    record = {"id": 7, "email": "a@example.com", "plan": "pro", "address": {"city": "Oslo", "street": "1 Main"}}
    assert compiled(record, EMITTED, "id") == vendor.map_generally(record, EMITTED, "id")
    reordered = {**record, "address": {"street": "2 Main", "city": "Bergen"}}
    assert compiled(reordered, EMITTED, "id") == vendor.map_generally(reordered, EMITTED, "id")
    assert compiled({**record, "address": None}, EMITTED, "id") == vendor.map_generally({**record, "address": None}, EMITTED, "id")


def test_a_first_record_without_its_nested_object_does_not_leave_the_layout_to_the_general_path():
    vendor = thrivestack()
    compiled = compiled_only(vendor)
    first = {"id": 1, "address": None}
    later = {"id": 2, "address": {"city": "Oslo"}}
    assert compiled(first, EMITTED, "id") == vendor.map_generally(first, EMITTED, "id")
    assert compiled(later, EMITTED, "id") == vendor.map_generally(later, EMITTED, "id")
    assert vendor.map_record(later, EMITTED, "id") == vendor.map_generally(later, EMITTED, "id")


def test_a_custom_field_that_could_collide_with_a_placed_one_is_never_compiled():
    vendor = thrivestack()
    record = {"user_id": "u1", "city": "Oslo", "enrichment_city": "Bergen"}
    assert compiled_only(vendor)(record, EMITTED, None) is None
    assert outcome(vendor.map_record, record, None) == "rejected: two fields map to traits.enrichment_city; remove or rename one"


def test_past_the_cap_layouts_are_mapped_the_general_way(monkeypatch):
    import destination_identify.compiled_items as compiled_items

    monkeypatch.setattr(compiled_items, "MAX_COMPILED_ITEMS", 2)
    vendor = thrivestack()
    records = [{"user_id": f"u{n}", f"column{n}": n} for n in range(5)]  # five layouts
    assert [vendor.map_record(r, EMITTED, None) for r in records] == [vendor.map_generally(r, EMITTED, None) for r in records]
    assert vendor._compiled._compiled == 2


def test_the_benchmark_users_map_identically(tmp_path):
    """Realistic records (nested objects, lists, non-ASCII names): the compiled path is taken and
    every event equals the general mapping's."""
    import orjson

    from bench.run_bench import generate

    path = tmp_path / "users.jsonl"
    generate(path, 2_000)
    records = [orjson.loads(line)["record"] for line in path.read_bytes().splitlines() if b'"RECORD"' in line]
    vendor = thrivestack()
    compiled = compiled_only(vendor)
    for record in records:
        expected = orjson.dumps(vendor.map_generally(record["data"], record["emitted_at"], "id"))
        assert orjson.dumps(compiled(record["data"], record["emitted_at"], "id")) == expected


_IDENTIFIED = st.builds(
    lambda record, user_id: {"user_id": user_id, **{k: v for k, v in record.items() if k not in TOP_LEVEL_ALIASES["user_id"]}},
    _RECORDS,
    st.one_of(st.integers(0, 2**60), st.text(alphabet="abc123-", min_size=1, max_size=6)),
)


@settings(max_examples=300, deadline=None)
@given(first=_IDENTIFIED, second=_IDENTIFIED)
def test_compiled_events_of_identified_records_equal_the_general_mapping(first, second):
    """The test above mostly meets records both paths reject for want of a user id; these carry
    one, so most are mapped by a compiled layout. `assume` fails the test (filter_too_much) if
    too few are."""
    vendor, compiled = thrivestack(), compiled_only(thrivestack())
    second = {key: second.get(key) for key in first} if len(second) % 2 else second
    mapped_compiled = False
    for data in (first, second):
        assert outcome(vendor.map_record, data, None) == outcome(vendor.map_generally, data, None)
        try:
            mapped_compiled = mapped_compiled or compiled(data, EMITTED, None) is not None
        except RecordRejected:
            pass
    assume(mapped_compiled)
