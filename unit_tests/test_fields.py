"""split_record: canonical fields by alias (top-level and nested), rest by own name, nulls dropped."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from destination_identify.fields import (
    CANONICAL_FIELDS,
    FOLDED_RANK,
    TOP_LEVEL_ALIASES,
    _split_by_rank,
    tables_for,
    drop_nulls,
    split_record,
)

ALL = frozenset(CANONICAL_FIELDS)


def test_snake_case_fields_are_canonical_and_others_stay_by_their_own_name():
    canonical, rest = split_record({"user_id": "u1", "email": "a@example.com", "plan": "pro"}, ALL)
    assert canonical == {"user_id": "u1", "email": "a@example.com"}
    assert rest == {"plan": "pro"}


def test_camel_case_aliases_are_accepted():
    record = {"userId": "u1", "firstName": "Ada", "lastName": "King", "companyId": "c1", "createdAt": 1, "postalCode": "N1"}
    canonical, rest = split_record(record, ALL)
    assert canonical == {
        "user_id": "u1",
        "first_name": "Ada",
        "last_name": "King",
        "company_id": "c1",
        "created_at": 1,
        "postal_code": "N1",
    }
    assert rest == {}


def test_nested_address_and_company_aliases():
    record = {
        "address": {"street": "1 Main St", "postalCode": "N1 9GU", "city": "London", "country": "GB", "unit": "4B"},
        "company": {"id": 77, "name": "Acme", "plan": "pro"},
    }
    canonical, rest = split_record(record, ALL)
    assert canonical == {
        "street1": "1 Main St",
        "postal_code": "N1 9GU",
        "city": "London",
        "country": "GB",
        "company_id": 77,
        "company_name": "Acme",
    }
    assert rest == {"address": {"unit": "4B"}, "company": {"plan": "pro"}}


def test_only_wanted_canonical_fields_are_taken():
    canonical, rest = split_record({"email": "a@example.com", "city": "Oslo", "address": {"city": "Bergen"}}, frozenset({"email"}))
    assert canonical == {"email": "a@example.com"}
    assert rest == {"city": "Oslo", "address": {"city": "Bergen"}}


def test_better_alias_wins_and_the_other_value_is_kept_in_rest():
    canonical, rest = split_record({"firstName": "B", "first_name": "A"}, ALL)
    assert canonical == {"first_name": "A"}
    assert rest == {"firstName": "B"}


def test_top_level_field_beats_nested_alias_in_either_key_order():
    for record in ({"city": "Top", "address": {"city": "Nested"}}, {"address": {"city": "Nested"}, "city": "Top"}):
        canonical, rest = split_record(record, ALL)
        assert canonical == {"city": "Top"}
        assert rest == {"address": {"city": "Nested"}}


def test_two_aliases_inside_one_nested_object_keep_the_loser_in_place():
    canonical, rest = split_record({"address": {"zip": "111", "postal_code": "222"}}, ALL)
    assert canonical == {"postal_code": "222"}
    assert rest == {"address": {"zip": "111"}}


def test_primary_key_column_is_the_user_id_fallback():
    canonical, rest = split_record({"id": 42, "email": "a@example.com"}, ALL, user_id_field="id")
    assert canonical == {"user_id": 42, "email": "a@example.com"}
    assert rest == {}


def test_explicit_user_id_beats_the_primary_key_which_stays_in_rest():
    canonical, rest = split_record({"id": 42, "userId": "u1"}, ALL, user_id_field="id")
    assert canonical == {"user_id": "u1"}
    assert rest == {"id": 42}


def test_nulls_are_dropped_at_every_depth_but_zero_false_and_empty_text_are_kept():
    record = {
        "user_id": "u1",
        "email": None,
        "gone": None,
        "deep": {"a": None, "b": {"c": None}},
        "mixed": [1, None, 0],
        "zero": 0,
        "no": False,
        "blank": "",
        "address": {"city": None, "state": "CA"},
    }
    canonical, rest = split_record(record, ALL)
    assert canonical == {"user_id": "u1", "state": "CA"}
    assert rest == {"mixed": [1, 0], "zero": 0, "no": False, "blank": ""}


def test_drop_nulls_returns_none_when_nothing_is_left():
    assert drop_nulls({"a": None, "b": [None, {"c": None}]}) is None
    assert drop_nulls({"a": 0, "b": [False, None]}) == {"a": 0, "b": [False]}


def test_a_field_is_found_in_any_letter_case_and_with_or_without_separators():
    """Snowflake and Oracle columns are upper case, Salesforce's are PascalCase."""
    record = {
        "USER_ID": "u1",
        "EMAIL": "a@example.com",
        "FirstName": "Ada",
        "last-name": "King",
        "Company Name": "Acme",
        "Address": {"City": "Oslo", "POSTAL_CODE": "0150", "Unit": "4B"},
        "PLAN": "pro",
    }
    canonical, rest = split_record(record, ALL)
    assert canonical == {
        "user_id": "u1",
        "email": "a@example.com",
        "first_name": "Ada",
        "last_name": "King",
        "company_name": "Acme",
        "city": "Oslo",
        "postal_code": "0150",
    }
    assert rest == {"Address": {"Unit": "4B"}, "PLAN": "pro"}


def test_a_name_as_written_beats_another_spelling_and_any_top_level_spelling_beats_a_nested_alias():
    for record in ({"email": "a", "EMAIL": "b"}, {"EMAIL": "b", "email": "a"}):
        assert split_record(record, ALL) == ({"email": "a"}, {"EMAIL": "b"})
    for record in ({"postalCode": "a", "ZIP": "b"}, {"ZIP": "b", "postalCode": "a"}):  # zip ranks after postalCode
        assert split_record(record, ALL) == ({"postal_code": "a"}, {"ZIP": "b"})
    assert split_record({"address": {"city": "Oslo"}, "CITY": "Bergen"}, ALL) == ({"city": "Bergen"}, {"address": {"city": "Oslo"}})


def test_a_second_spelling_of_a_nested_object_is_custom_data_and_loses_nothing():
    """Two `address` objects would compete for one city; the one named as written is read."""
    for record in (
        {"Address": {"City": "Oslo", "Line1": "1 Main St"}, "address": {"city": "London"}},
        {"address": {"city": "London"}, "Address": {"City": "Oslo", "Line1": "1 Main St"}},
    ):
        for _ in range(2):  # compiled on the second call
            canonical, rest = split_record(record, ALL)
            assert canonical == {"city": "London"}
            assert rest == {"Address": {"City": "Oslo", "Line1": "1 Main St"}}
    canonical, rest = split_record({"ADDRESS": {"City": "Oslo"}, "Address": {"City": "Bergen"}}, ALL)
    assert (canonical, rest) == ({"city": "Oslo"}, {"Address": {"City": "Bergen"}})  # neither as written: the first


def test_a_name_spelled_another_way_is_folded_once_not_per_record():
    """The general path asks per field of every record: the answer is remembered per table."""
    top, _ = tables_for(ALL)
    assert top.find("EMAIL") == ("email", FOLDED_RANK)
    top._folded.clear()  # a second find must not fold again
    assert top.find("EMAIL") == ("email", FOLDED_RANK)
    assert top.find("Plan") is None and top.find("Plan") is None


@pytest.mark.parametrize("user_id_column", ["user_id", "userId", "USER_ID"])
def test_a_null_user_id_column_is_not_replaced_by_the_primary_key(user_id_column):
    """A subscriptions table: `id` is the subscription's, `user_id` the user's. A row without a
    user must not update the profile of the user whose id equals the subscription's."""
    for record in ({"id": 7, user_id_column: None, "email": "a@example.com"}, {user_id_column: None, "id": 7}):
        canonical, rest = split_record(record, ALL, user_id_field="id")
        assert "user_id" not in canonical
        assert rest == {"id": 7}
    assert split_record({"id": 7, "email": "a@example.com"}, ALL, user_id_field="id")[0]["user_id"] == 7


def test_blank_text_in_a_canonical_field_is_left_out_like_a_null():
    """An empty email or phone column would erase the vendor's; custom data keeps its blanks, and a
    blank user id stays (its converter rejects the row with its own reason)."""
    record = {
        "user_id": " ",
        "email": "",
        "phone": "  ",
        "company_id": "",
        "address": {"city": "\t", "postal_code": "0150"},
        "plan": "",
    }
    for _ in range(2):  # compiled on the second call
        canonical, rest = split_record(record, ALL)
        assert canonical == {"user_id": " ", "postal_code": "0150"}
        assert rest == {"plan": ""}
    assert split_record({"email": "", "EMAIL": "a@example.com"}, ALL) == ({"email": "a@example.com"}, {})
    assert split_record({"user_id": "u"}, ALL, mapped={"email": " ", "phone": "+1"})[0] == {"user_id": "u", "phone": "+1"}


def test_non_object_address_is_kept_as_is():
    canonical, rest = split_record({"address": "1 Main St, London"}, ALL)
    assert canonical == {}
    assert rest == {"address": "1 Main St, London"}


# ---- the per-layout fast path gives exactly what the general path gives ----------------------
_ALIAS_NAMES = sorted({alias for aliases in TOP_LEVEL_ALIASES.values() for alias in aliases})
# Other spellings of aliases too (EMAIL, FirstName, Address): found as the same fields.
_KEYS = st.sampled_from(
    _ALIAS_NAMES + ["address", "company", "plan", "_airbyte_raw_id", "_ab_cdc_lsn", "tags", "id"]
    + ["EMAIL", "FirstName", "USER_ID", "user-id", "Address", "ZIP", "Plan"]
)
_SUB_KEYS = st.sampled_from(["city", "street", "street1", "zip", "postal_code", "id", "name", "line3", "City", "POSTAL_CODE"])
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5))
_INNER = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3), st.dictionaries(st.text(max_size=3), _SCALARS, max_size=3))
_VALUES = st.one_of(
    _SCALARS,
    st.dictionaries(_SUB_KEYS, _INNER, max_size=4),
    st.lists(_INNER, max_size=3),
)


def _ordered(split: tuple) -> bytes:
    """Both halves as JSON bytes: equal bytes means equal values and equal key order."""
    return json.dumps(split).encode()


def _split_by_definition(record, wanted, user_id_field, mapped):
    """split_record's rules written plainly: the general path, then the key where the record
    has no user id column (in any spelling), then mapped values."""
    if mapped:
        wanted = wanted.difference(mapped)
    top, nested = tables_for(wanted)
    canonical, rest = _split_by_rank(record, top, nested)
    has_user_id_column = any(top.find(name) is not None and top.find(name)[0] == "user_id" for name in record)
    if user_id_field is not None and "user_id" in wanted and "user_id" not in canonical and not has_user_id_column:
        value = rest.pop(user_id_field, None)
        if value is not None:
            canonical["user_id"] = value
    for name, value in (mapped or {}).items():
        blank = isinstance(value, str) and not value.strip() and name != "user_id"
        if value is not None and not blank:
            canonical[name] = value
    return canonical, rest


@settings(max_examples=500, deadline=None)
@given(
    record=st.dictionaries(_KEYS, _VALUES, max_size=8),
    wanted=st.frozensets(st.sampled_from(CANONICAL_FIELDS), min_size=1),
    user_id_field=st.one_of(st.none(), _KEYS, st.just("id")),
    mapped=st.one_of(st.none(), st.dictionaries(st.sampled_from(CANONICAL_FIELDS), _SCALARS, max_size=2)),
)
def test_compiled_layouts_equal_the_general_path(record, wanted, user_id_field, mapped):
    expected = _ordered(_split_by_definition(record, wanted, user_id_field, mapped))
    assert _ordered(split_record(record, wanted, user_id_field, mapped)) == expected
    assert _ordered(split_record(record, wanted, user_id_field, mapped)) == expected  # the cached splitter


# Which alias wins when a record has several, written out (not read from the table): the wrong
# winner sends another column's value, and for user_id that is another user's profile.
ALIAS_WINNERS = [
    ("user_id", ["userId", "user_id"]),
    ("first_name", ["firstName", "first_name"]),
    ("last_name", ["lastName", "last_name"]),
    ("company_id", ["companyId", "company_id"]),
    ("company_name", ["companyName", "company_name"]),
    ("street1", ["street", "street1"]),
    ("postal_code", ["zip", "postalCode", "postal_code"]),
    ("created_at", ["signedUpAt", "signed_up_at", "createdAt", "created_at"]),
]


@pytest.mark.parametrize(("field", "worst_first"), ALIAS_WINNERS)
def test_the_best_alias_wins_whatever_the_order_and_the_others_stay_as_custom_data(field, worst_first):
    for names in (worst_first, list(reversed(worst_first))):
        record = {name: f"value of {name}" for name in names}
        canonical, rest = split_record(record, ALL)
        best = worst_first[-1]
        assert canonical == {field: f"value of {best}"}
        assert rest == {name: f"value of {name}" for name in names if name != best}
