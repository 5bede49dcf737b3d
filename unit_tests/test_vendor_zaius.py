"""Zaius / ODP: golden profiles, identifiers, regions, row refusals and check."""

import pytest

from destination_identify.errors import ConfigError, RecordRejected
from destination_identify.vendors import vendor_from_config
from destination_identify.vendors.base import Accepted, BatchRefused, CheckResult, Fatal, HttpCall, Retry, RowsRefused
from unit_tests.source_rows import HUBSPOT


def zaius(**options):
    return vendor_from_config({"vendor": "zaius", "api_key": "pub-key", **options})


def test_golden_profile_for_a_realistic_record():
    record = {
        "user_id": "u-42",
        "email": "ada@example.com",
        "name": "Ada King Lovelace",
        "phone": "+44 20 7946 0018",
        "gender": "female",
        "timezone": "Europe/London",
        "avatar": "https://example.com/ada.png",
        "address": {"street": "12 St James's Sq", "street2": "Flat 3", "city": "London", "state": "LND", "postal_code": "SW1Y 4JH", "country": "GB"},
        "company": {"id": "c-1", "name": "Analytical Engines"},
        "loyalty_points": 0,
        "vip": False,
        "score": 3.25,
        "tags": ["math", "poetry"],
        "deleted_at": None,
    }
    assert zaius().map_record(record, 1, None) == {
        "attributes": {
            "customer_id": "u-42",
            "email": "ada@example.com",
            "first_name": "Ada",
            "last_name": "King Lovelace",
            "phone": "+44 20 7946 0018",
            "gender": "F",
            "timezone": "Europe/London",
            "image_url": "https://example.com/ada.png",
            "street1": "12 St James's Sq",
            "street2": "Flat 3",
            "city": "London",
            "state": "LND",
            "zip": "SW1Y 4JH",
            "country": "GB",
            "company_id": "c-1",
            "company_name": "Analytical Engines",
            "loyalty_points": 0,
            "vip": False,
            "score": 3.25,
            "tags": "math, poetry",
        }
    }


def test_one_word_name_fills_first_name_only():
    assert zaius().map_record({"email": "cher@example.com", "name": "Cher"}, 1, None) == {
        "attributes": {"email": "cher@example.com", "first_name": "Cher"}
    }


@pytest.mark.parametrize(
    "record, names",
    [
        # Salesforce: a contact without a first name; Name is the last name alone
        ({"Name": "Shaw", "LastName": "Shaw", "FirstName": None}, {"last_name": "Shaw"}),
        ({"name": "Ada King Lovelace", "last_name": "Lovelace"}, {"first_name": "Ada King", "last_name": "Lovelace"}),
        ({"name": "Lovelace, Ada", "last_name": "Lovelace"}, {"last_name": "Lovelace"}),  # not "name ends with it"
        ({"name": "JOHN SMITH", "last_name": "Smith"}, {"first_name": "JOHN", "last_name": "Smith"}),  # any case
        ({"name": "Ann Shaw", "last_name": "haw"}, {"last_name": "haw"}),  # whole words only
        ({"name": "Ada King Lovelace", "first_name": "Augusta"}, {"first_name": "Augusta", "last_name": "King Lovelace"}),
    ],
)
def test_a_full_name_fills_only_the_parts_it_can_beside_the_given_ones(record, names):
    profile = zaius().map_record({"email": "a@example.com", **record}, 1, None)
    assert profile == {"attributes": {"email": "a@example.com", **names}}


def test_explicit_first_and_last_names_win_over_name():
    profile = zaius().map_record({"email": "a@example.com", "name": "Augusta Ada", "firstName": "Ada", "last_name": "Byron"}, 1, None)
    assert profile == {"attributes": {"email": "a@example.com", "first_name": "Ada", "last_name": "Byron"}}


def test_top_level_zip_and_street_aliases():
    profile = zaius().map_record({"email": "a@example.com", "zip": "02101", "street": "123 Fake St"}, 1, None)
    assert profile == {"attributes": {"email": "a@example.com", "zip": "02101", "street1": "123 Fake St"}}


def test_nested_object_is_flattened():
    profile = zaius().map_record({"email": "a@example.com", "prefs": {"news": True, "lang": {"ui": "en"}}}, 1, None)
    assert profile == {"attributes": {"email": "a@example.com", "prefs_news": True, "prefs_lang_ui": "en"}}


@pytest.mark.parametrize("value, code", [("M", "M"), ("male", "M"), (" Female ", "F"), ("f", "F")])
def test_gender_codes(value, code):
    assert zaius().map_record({"email": "a@example.com", "gender": value}, 1, None)["attributes"]["gender"] == code


def test_user_id_goes_to_the_configured_identifier_and_the_primary_key_is_the_fallback():
    assert zaius(user_id_attribute="crm_id").map_record({"userId": 7}, 1, None) == {"attributes": {"crm_id": "7"}}
    assert zaius().map_record({"id": "pk-1"}, 1, "id") == {"attributes": {"customer_id": "pk-1"}}


def test_empty_user_id_attribute_means_the_user_id_is_not_sent():
    vendor = zaius(user_id_attribute="")
    assert vendor.map_record({"user_id": "u1", "email": "a@example.com"}, 1, None) == {
        "attributes": {"email": "a@example.com"}
    }
    assert vendor.map_record({"id": "pk-1", "phone": "+1 555 0100"}, 1, "id") == {"attributes": {"phone": "+1 555 0100"}}


@pytest.mark.parametrize(
    "options, record, reason",
    [
        ({}, {"name": "Ada", "city": "London"}, "no identifier (email, phone, vuid, zaius_id, customer_id)"),
        ({}, {"email": "", "phone": ""}, "no identifier (email, phone, vuid, zaius_id, customer_id)"),
        ({"user_id_attribute": ""}, {"user_id": "u1", "name": "Ada"}, "no identifier (email, phone, vuid, zaius_id)"),
        ({}, {"email": "a@example.com", "gender": "X"}, "gender: ODP accepts only M or F (male/female)"),
        ({}, {"email": "a@example.com", "gender": 1}, "gender: ODP accepts only M or F (male/female)"),
        ({}, {"email": "a@example.com", "postal_code": "1", "zip": "2"}, "two fields map to attribute 'zip'; remove or rename one"),
        ({}, {"email": "a@example.com", "image_url": "x", "avatar": "y"}, "two fields map to attribute 'image_url'; remove or rename one"),
        ({}, {"email": "a@example.com", "prefs": {"news": True}, "prefs_news": False}, "two fields flatten to 'prefs_news'; rename one"),
    ],
)
def test_rejections_carry_a_reason(options, record, reason):
    with pytest.raises(RecordRejected) as caught:
        zaius(**options).map_record(record, 1, None)
    assert caught.value.reason == reason


def test_blank_text_is_left_out_rather_than_overwriting_a_stored_value():
    record = {
        "email": "a@example.com", "first_name": "", "last_name": "  ", "gender": " ", "city": "\t",
        "plan": "", "prefs": {"tier": " ", "news": True}, "seats": 0, "beta": False,
    }
    assert zaius().map_record(record, 1, None) == {
        "attributes": {"email": "a@example.com", "prefs_news": True, "seats": 0, "beta": False}
    }


def test_a_blank_identifier_is_no_identifier():
    with pytest.raises(RecordRejected, match=r"^no identifier \(email, phone, vuid, zaius_id\)$"):
        zaius(user_id_attribute="").map_record({"email": " ", "phone": "", "vuid": "\n", "name": "Ada"}, 1, None)


def test_vuid_is_an_identifier():
    assert zaius(user_id_attribute="").map_record({"vuid": "v-1"}, 1, None) == {"attributes": {"vuid": "v-1"}}


@pytest.mark.parametrize(
    "api_key, host",
    [
        ("abcdef-eu1", "https://api.eu1.odp.optimizely.com"),
        ("abcdef-au1", "https://api.au1.odp.optimizely.com"),
        ("pub-eu1.secret", "https://api.eu1.odp.optimizely.com"),
        ("pub-au1.secret", "https://api.au1.odp.optimizely.com"),
        ("pub.secret-eu1", "https://api.zaius.com"),  # the suffix belongs to the public part
        ("abcdef", "https://api.zaius.com"),
        ("abcdef.secret", "https://api.zaius.com"),
    ],
)
def test_region_follows_the_key_suffix(api_key, host):
    assert vendor_from_config({"vendor": "zaius", "api_key": api_key}).base_url == host


def test_base_url_overrides_the_region():
    vendor = vendor_from_config({"vendor": "zaius", "api_key": "k-eu1", "base_url": "https://odp.example.com/"})
    assert vendor.base_url == "https://odp.example.com"


def test_user_id_attribute_must_be_text():
    with pytest.raises(ConfigError, match="user_id_attribute must be text"):
        zaius(user_id_attribute=5)


def test_headers_limits_and_calls():
    vendor = zaius()
    assert vendor.headers() == {"x-api-key": "pub-key"}
    assert (vendor.limits.max_records, vendor.requests_per_second) == (500, 9.5)
    assert vendor.body_prefix + vendor.body_separator.join([b"{}", b"{}"]) + vendor.body_suffix == b"[{},{}]"
    assert vendor.batch_call(b"[]") == HttpCall("POST", "/v3/profiles", b"[]")
    assert vendor.check_call() == HttpCall("GET", "/v3/profiles?email=destination-identify-check%40example.invalid")


def test_400_with_invalids_refuses_exactly_those_rows_by_index():
    body = (
        b'{"title": "Bad Request", "status": 400, "detail": {"invalids": ['
        b'{"event": 1, "message": "Invalid gender"},'
        b'{"event": 3, "message": "bad value for a@example.com"},'
        b'{"event": 9, "message": "out of range"}]}}'
    )
    assert zaius().read_response(400, body, {}, 5) == RowsRefused(
        {1: "Zaius refused the row: Invalid gender", 3: "Zaius refused the row: bad value for <email>"}
    )


def test_400_without_invalids_refuses_the_batch():
    body = b'{"title": "Bad Request", "status": 400, "detail": {"message": "body is not an array"}}'
    assert zaius().read_response(400, body, {}, 5) == BatchRefused("Zaius answered 400: Bad Request")
    assert zaius().read_response(400, b"not json", {}, 5) == BatchRefused("Zaius answered 400: not json")


@pytest.mark.parametrize(
    "status, headers, verdict",
    [
        (202, {}, Accepted()),
        (200, {}, Accepted()),
        (403, {}, Fatal("Zaius (Optimizely Data Platform) rejected the API key (403): Forbidden", "config_error")),
        (401, {}, Fatal("Zaius (Optimizely Data Platform) rejected the API key (401): Forbidden", "config_error")),
        (404, {}, Fatal("Zaius (Optimizely Data Platform) answered 404 Not Found: check base_url (https://api.zaius.com)")),
        (429, {"retry-after": "1"}, Retry("Zaius (Optimizely Data Platform) answered 429", "1", rate_limited=True)),
        (503, {}, Retry("Zaius (Optimizely Data Platform) answered 503", None, rate_limited=False)),
    ],
)
def test_read_response(status, headers, verdict):
    assert zaius().read_response(status, b'{"message": "Forbidden"}', headers, 5) == verdict


def test_read_check_404_for_the_unknown_probe_profile_means_the_key_works():
    assert zaius().read_check(404, b"") == CheckResult(True, "Zaius accepted the API key")
    assert zaius().read_check(200, b"") == CheckResult(True, "Zaius accepted the API key")


def test_read_check_403_explains_that_check_needs_the_private_key():
    result = zaius().read_check(403, b'{"message": "Forbidden"}')
    assert result.ok is False
    assert "(403)" in result.message
    assert "public keys can write profiles but not read them" in result.message
    assert "private key" in result.message


def test_read_check_401_and_outage():
    assert zaius().read_check(401, b"") == CheckResult(
        False, "Zaius (Optimizely Data Platform) rejected the API key (401); check api_key"
    )
    assert zaius().read_check(500, b"").ok is False


# ---- source-hubspot: a `properties` object beside its flattened `properties_*` columns -----------



def test_a_hubspot_row_sends_each_duplicated_property_once():
    assert zaius().map_record(HUBSPOT, 1, "id") == {
        "attributes": {
            "customer_id": "151",
            "properties_email": "m@x.es",
            "properties_firstname": "Marta",
            "properties_createdate": "2024-01-15T10:30:00.000Z",
            "properties_num_notes": 3,
        }
    }


def test_a_duplicated_property_with_another_value_still_rejects_the_record():
    with pytest.raises(RecordRejected) as caught:
        zaius().map_record({**HUBSPOT, "properties_firstname": "Marta B."}, 1, "id")
    assert caught.value.reason == "two fields flatten to 'properties_firstname'; rename one"


# ---- text that only starts like a date-time is text (no date conversion here, unlike CrowdPower) --


def test_text_that_starts_like_a_date_time_is_sent_as_it_is():
    notes = "2024-01-15 10:30 called, wants refund"
    record = {"email": "a@example.com", "notes": notes, "seen_at": "2024-01-15T10:30:00Z"}
    assert zaius().map_record(record, 1, None)["attributes"] == record  # as they are, dates included


# ---- values with no flat form go as compact JSON text -------------------------------------------


def test_a_list_of_objects_is_sent_as_its_compact_json_text_without_nulls():
    record = {
        "email": "a@example.com",
        "addresses": [{"address1": "1 Main St", "city": "Oslo", "company": None}, {"city": "Bergen", "default": False}],
        "tags": ["vip", "beta"],
        "photo": {"thumbnails": [{"url": "https://x/1.png", "size": 80}]},
    }
    assert zaius().map_record(record, 1, None)["attributes"] == {
        "email": "a@example.com",
        "addresses": '[{"address1":"1 Main St","city":"Oslo"},{"city":"Bergen","default":false}]',
        "tags": "vip, beta",
        "photo_thumbnails": '[{"url":"https://x/1.png","size":80}]',
    }
