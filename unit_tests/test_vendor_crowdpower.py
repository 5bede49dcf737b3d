"""CrowdPower: golden customers, custom_attributes rules, rejections, headers and verdicts."""

import pytest

from destination_identify.errors import ConfigError, RecordRejected
from destination_identify.vendors import vendor_from_config
from destination_identify.vendors.base import Accepted, BatchRefused, CheckResult, Fatal, HttpCall, Retry
from destination_identify.vendors.crowdpower import attribute_key
from unit_tests.source_rows import HUBSPOT


def crowdpower(**options):
    return vendor_from_config({"vendor": "crowdpower", "api_key": "pk_live_1", **options})


def test_golden_customer_for_a_realistic_record():
    record = {
        "user_id": "u-42",
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "firstName": "Ada",
        "last_name": "Lovelace",
        "phone": "+44 20 7946 0018",
        "ip": "203.0.113.7",
        "created_at": "2024-03-01T12:00:00Z",
        "plan": "pro",
        "seats": 0,
        "mrr": 99.5,
        "beta": False,
        "Favorite Color": "teal",
        "company": {"id": "c-1", "name": "Analytical Engines"},
        "address": {"city": "London", "postalCode": "N1"},
        "tags": ["alpha", "beta"],
        "last_login_at": "2024-03-05T08:30:00+01:00",
        "birthday": "1815-12-10",
        "deleted_at": None,
    }
    assert crowdpower().map_record(record, 1, None) == {
        "user_id": "u-42",
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone": "+44 20 7946 0018",
        "ip": "203.0.113.7",
        "signed_up_at": 1709294400,
        "custom_attributes": {
            "plan": "pro",
            "seats": 0,
            "mrr": 99.5,
            "beta": False,
            "Favorite_Color": "teal",
            "company_id": "c-1",
            "company_name": "Analytical Engines",
            "address_city": "London",
            "address_postalCode": "N1",
            "tags": "alpha, beta",
            "last_login_at": 1709623800,  # ISO date-time -> UNIX seconds
            "birthday": "1815-12-10",  # a plain date is not a date-time: kept as text
        },
        "update_session": False,
    }


def test_one_word_name_is_sent_as_is_and_no_empty_custom_attributes():
    assert crowdpower().map_record({"user_id": "u1", "name": "Cher"}, 1, None) == {
        "user_id": "u1",
        "name": "Cher",
        "update_session": False,
    }


@pytest.mark.parametrize(
    "created, seconds",
    [
        (1709294400123, 1709294400),  # epoch milliseconds
        (1709294400, 1709294400),  # epoch seconds
        ("2024-03-01T12:00:00Z", 1709294400),
        ("2024-03-01T13:00:00+01:00", 1709294400),
        ("2024-03-01T12:00:00", 1709294400),  # no zone: UTC
        ("2024-03-01", 1709251200),  # a date
    ],
)
@pytest.mark.parametrize("field", ["created_at", "createdAt", "signed_up_at"])
def test_signed_up_at_is_integer_unix_seconds(field, created, seconds):
    customer = crowdpower().map_record({"email": "a@example.com", field: created}, 1, None)
    assert customer == {"email": "a@example.com", "signed_up_at": seconds, "update_session": False}
    assert type(customer["signed_up_at"]) is int


def test_email_alone_identifies_and_primary_key_is_the_fallback():
    assert crowdpower().map_record({"email": "a@example.com"}, 1, None) == {"email": "a@example.com", "update_session": False}
    assert crowdpower().map_record({"customer_id": 9}, 1, "customer_id") == {"user_id": "9", "update_session": False}


def test_update_session_option():
    assert crowdpower(update_session=True).map_record({"user_id": "u"}, 1, None)["update_session"] is True
    with pytest.raises(ConfigError, match="update_session must be true or false"):
        crowdpower(update_session="yes")


@pytest.mark.parametrize(
    "name, key",
    [
        ("Favorite Color", "Favorite_Color"),
        ("plan.tier", "plan_tier"),
        ("  spaced  out ", "spaced_out"),
        ("ok-key_1", "ok-key_1"),
        ("émoji 🎉 field", "moji_field"),
        ("!!!", "_"),
        ("x" * 60, "x" * 50),
    ],
)
def test_attribute_keys_are_made_valid(name, key):
    assert attribute_key(name) == (key, key.endswith("_at"))


@pytest.mark.parametrize(
    "record, reason",
    [
        ({"name": "Ada", "phone": "+1 555"}, "neither a user id nor an email"),
        ({"email": None, "user_id": None}, "neither a user id nor an email"),
        ({"user_id": "u", "created_at": "last week"}, "created_at: not an ISO-8601 date or date-time"),
        ({"user_id": "u", "renewal_at": "2024-02-30T00:00:00Z"}, "renewal_at: not an ISO-8601 date or date-time"),
        ({"user_id": "u", "Plan Tier": "a", "Plan_Tier": "b"}, "two fields become custom attribute 'Plan_Tier'; rename one"),
        ({"user_id": True}, "user_id: expected a string or integer identifier, got boolean"),
        ({"user_id": "u", "prefs": {"news": True}, "prefs_news": False}, "two fields flatten to 'prefs_news'; rename one"),
    ],
)
def test_rejections_carry_a_reason(record, reason):
    with pytest.raises(RecordRejected) as caught:
        crowdpower().map_record(record, 1, None)
    assert caught.value.reason == reason


def test_headers_body_and_calls():
    vendor = crowdpower()
    assert vendor.headers() == {"Authorization": "Bearer pk_live_1"}
    assert vendor.base_url == "https://beacon.crowdpower.io"
    assert vendor.body_prefix + vendor.body_separator.join([b"{}", b"{}"]) + vendor.body_suffix == b'{"customers":[{},{}]}'
    assert vendor.batch_call(b"x") == HttpCall("POST", "/customers/bulk", b"x")
    assert vendor.check_call() == HttpCall("POST", "/customers/bulk", b'{"customers":[]}')


@pytest.mark.parametrize(
    "status, body, headers, verdict",
    [
        (200, b'{"success": true}', {}, Accepted()),
        (400, b'{"message": "custom_attributes.x invalid"}', {}, BatchRefused("CrowdPower answered 400: custom_attributes.x invalid")),
        (401, b"", {}, Fatal("CrowdPower rejected the API key (401): no message", "config_error")),
        (403, b"", {}, Fatal("CrowdPower rejected the API key (403): no message", "config_error")),
        (404, b"", {}, Fatal("CrowdPower answered 404 Not Found: check base_url (https://beacon.crowdpower.io)")),
        (429, b"", {"retry-after": "30"}, Retry("CrowdPower answered 429", "30", rate_limited=True)),
        (502, b"", {}, Retry("CrowdPower answered 502", None, rate_limited=False)),
    ],
)
def test_read_response(status, body, headers, verdict):
    assert crowdpower().read_response(status, body, headers, 10) == verdict


@pytest.mark.parametrize(
    "status, result",
    [
        (200, CheckResult(True, "CrowdPower accepted the API key")),
        (422, CheckResult(True, "CrowdPower accepted the API key")),  # `customers` is required: an empty list may be refused
        (400, CheckResult(True, "CrowdPower accepted the API key")),
        (401, CheckResult(False, "CrowdPower rejected the API key (401); check api_key")),
        (500, CheckResult(False, "CrowdPower is not available right now (500); try again later")),
        (404, CheckResult(False, "CrowdPower answered 404 at https://beacon.crowdpower.io; check base_url")),
    ],
)
def test_read_check(status, result):
    assert crowdpower().read_check(status, b"") == result


@pytest.mark.parametrize(
    "value, seconds",
    [
        ("2024-03-01", 1709251200),  # a date: midnight UTC
        ("2024-03-01T12:00:00Z", 1709294400),
        (1709294400123, 1709294400),  # epoch milliseconds
        (1709294400, 1709294400),  # epoch seconds
        ("1709294400", 1709294400),
        ("6000-01-01T00:00:00Z", 127174492800),  # converted once: read twice, it passed for milliseconds
    ],
)
def test_a_key_ending_in_at_always_holds_unix_seconds(value, seconds):
    customer = crowdpower().map_record({"user_id": "u", "trial": {"ends_at": value}}, 1, None)
    assert customer["custom_attributes"] == {"trial_ends_at": seconds}
    assert type(customer["custom_attributes"]["trial_ends_at"]) is int


@pytest.mark.parametrize("value", ["soon", "", True])
def test_a_key_ending_in_at_with_no_point_in_time_rejects_the_record(value):
    with pytest.raises(RecordRejected, match=r"^renewal_at: "):
        crowdpower().map_record({"user_id": "u", "renewal_at": value}, 1, None)


def test_a_list_under_a_key_ending_in_at_rejects_the_record():
    with pytest.raises(RecordRejected, match=r"^renewals_at: not an ISO-8601 date or date-time$"):
        crowdpower().map_record({"user_id": "u", "renewals_at": ["2024-03-01", "2025-03-01"]}, 1, None)


# ---- source-hubspot: a `properties` object beside its flattened `properties_*` columns -----------



def test_a_hubspot_row_sends_each_duplicated_property_once():
    assert crowdpower().map_record(HUBSPOT, 1, "id") == {
        "user_id": "151",
        "custom_attributes": {
            "properties_email": "m@x.es",
            "properties_firstname": "Marta",
            "properties_createdate": 1705314600,
            "properties_num_notes": 3,
        },
        "update_session": False,
    }


def test_two_names_made_one_valid_key_with_equal_values_are_sent_once():
    assert crowdpower().map_record({"user_id": "u", "Plan Tier": "a", "Plan_Tier": "a"}, 1, None)["custom_attributes"] == {
        "Plan_Tier": "a"
    }


def test_a_duplicated_property_with_another_value_still_rejects_the_record():
    with pytest.raises(RecordRejected) as caught:
        crowdpower().map_record({**HUBSPOT, "properties_num_notes": 4}, 1, "id")
    assert caught.value.reason == "two fields flatten to 'properties_num_notes'; rename one"


# ---- text that only starts like a date-time ------------------------------------------------------


@pytest.mark.parametrize(
    "notes",
    ["2024-01-15 10:30 called, wants refund", "2024-01-15T10:30:00Z and again 2024-02-01", "2024-13-45 99:99 typo"],
)
def test_free_text_that_starts_like_a_date_time_is_sent_as_text(notes):
    customer = crowdpower().map_record({"user_id": "u", "notes": notes, "ticket": {"subject": notes}}, 1, None)
    assert customer["custom_attributes"] == {"notes": notes, "ticket_subject": notes}


@pytest.mark.parametrize(
    "value, seconds",
    [("2024-01-15 10:30", 1705314600), ("2024-01-15T11:30:00+01:00", 1705314600), ("2024-01-15T10:30:00.000Z", 1705314600)],
)
def test_a_whole_date_time_under_any_key_still_becomes_unix_seconds(value, seconds):
    customer = crowdpower().map_record({"user_id": "u", "last_seen": value}, 1, None)
    assert customer["custom_attributes"] == {"last_seen": seconds}


def test_under_a_key_ending_in_at_text_that_starts_like_a_date_time_still_rejects_the_record():
    with pytest.raises(RecordRejected) as caught:
        crowdpower().map_record({"user_id": "u", "called_at": "2024-01-15 10:30 called, wants refund"}, 1, None)
    assert caught.value.reason == "called_at: not an ISO-8601 date or date-time"


# ---- values with no flat form go as compact JSON text -------------------------------------------

SHOPIFY_ADDRESSES = [
    {"id": 1, "address1": "1 Main St", "city": "Oslo", "company": None, "default": True},
    {"id": 2, "address1": "Storgata 5", "city": "Bergen", "province": None, "default": False},
]


def test_a_list_of_objects_is_sent_as_its_compact_json_text_without_nulls():
    customer = crowdpower().map_record({"user_id": "u", "addresses": SHOPIFY_ADDRESSES, "tags": ["vip", "beta"]}, 1, None)
    assert customer["custom_attributes"] == {
        "addresses": '[{"id":1,"address1":"1 Main St","city":"Oslo","default":true},'
        '{"id":2,"address1":"Storgata 5","city":"Bergen","default":false}]',
        "tags": "vip, beta",  # a list of scalars is joined as before
    }


@pytest.mark.parametrize(
    "record, key, text",
    [
        (
            {"user_id": "u", "photo": {"thumbnails": [{"url": "https://x/1.png", "size": 80}]}},
            "photo_thumbnails",
            '[{"url":"https://x/1.png","size":80}]',
        ),
        ({"user_id": "u", "matrix": [[1, 2], ["a", None]]}, "matrix", '[[1,2],["a"]]'),
        ({"user_id": "u", "mixed": ["a", {"b": "ü"}]}, "mixed", '["a",{"b":"ü"}]'),
    ],
)
def test_lists_holding_objects_or_lists_become_json_text(record, key, text):
    assert crowdpower().map_record(record, 1, None)["custom_attributes"] == {key: text}


def test_a_list_of_objects_under_a_key_ending_in_at_still_rejects_the_record():
    with pytest.raises(RecordRejected) as caught:
        crowdpower().map_record({"user_id": "u", "renewals_at": [{"on": "2024-03-01"}]}, 1, None)
    assert caught.value.reason == "renewals_at: not an ISO-8601 date or date-time"
