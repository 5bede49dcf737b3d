"""Thrivestack: golden events, rejections, headers and HTTP verdicts."""

import pytest

from destination_identify.errors import ConfigError, RecordRejected
from destination_identify.vendors import vendor_from_config
from destination_identify.vendors.base import Accepted, BatchRefused, CheckResult, Fatal, HttpCall, Retry

EMITTED_AT = 1709294400123  # 2024-03-01T12:00:00.123Z


def thrivestack(**options):
    return vendor_from_config({"vendor": "thrivestack", "api_key": "ts-key", **options})


def test_golden_event_for_a_realistic_record():
    record = {
        "user_id": "u-42",
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone": "+44 20 7946 0018",
        "avatar": "https://example.com/ada.png",
        "title": "CTO",
        "company": {"id": "c-1", "name": "Analytical Engines", "plan": "pro"},
        "address": {"city": "London", "state": "LND", "country": "GB", "postal_code": "N1"},
        "timezone": "Europe/London",
        "ip": "203.0.113.7",
        "seats": 0,
        "beta": False,
        "tags": ["a", "b"],
        "deleted_at": None,
    }
    assert thrivestack().map_record(record, EMITTED_AT, None) == {
        "user_id": "u-42",
        "traits": {
            "email": "ada@example.com",
            "enrichment_full_name": "Ada Lovelace",
            "enrichment_first_name": "Ada",
            "enrichment_last_name": "Lovelace",
            "enrichment_phone": ["+44 20 7946 0018"],
            "enrichment_avatar": "https://example.com/ada.png",
            "enrichment_employment_title": "CTO",
            "enrichment_employment_name": "Analytical Engines",
            "enrichment_city": "London",
            "enrichment_state": "LND",
            "enrichment_country": "GB",
            "enrichment_time_zone": "Europe/London",
            "company": {"plan": "pro"},
            "address": {"postal_code": "N1"},
            "seats": 0,
            "beta": False,
            "tags": ["a", "b"],
        },
        "context": {"group_id": "c-1", "ip": "203.0.113.7"},
        "timestamp": "2024-03-01T12:00:00.123Z",
    }


def test_minimal_event_has_no_empty_traits_or_context():
    assert thrivestack().map_record({"userId": 7}, EMITTED_AT, None) == {
        "user_id": "7",
        "timestamp": "2024-03-01T12:00:00.123Z",
    }


def test_phone_list_and_top_level_company_aliases():
    event = thrivestack().map_record(
        {"user_id": "u", "phone": ["+1 555 0100", 5550101], "companyId": 9, "companyName": "Acme"}, EMITTED_AT, None
    )
    assert event == {
        "user_id": "u",
        "traits": {"enrichment_phone": ["+1 555 0100", "5550101"], "enrichment_employment_name": "Acme"},
        "context": {"group_id": "9"},
        "timestamp": "2024-03-01T12:00:00.123Z",
    }


def test_primary_key_is_the_user_id_fallback():
    event = thrivestack().map_record({"id": "pk-1", "email": "a@example.com"}, EMITTED_AT, "id")
    assert event["user_id"] == "pk-1"
    assert event["traits"] == {"email": "a@example.com"}


def test_timestamps_follow_each_records_emitted_at():
    vendor = thrivestack()
    assert vendor.map_record({"user_id": "a"}, 1732262400000, None)["timestamp"] == "2024-11-22T08:00:00.000Z"
    assert vendor.map_record({"user_id": "b"}, 1732262400000, None)["timestamp"] == "2024-11-22T08:00:00.000Z"
    assert vendor.map_record({"user_id": "c"}, 1732262402500, None)["timestamp"] == "2024-11-22T08:00:02.500Z"


def test_emitted_at_in_seconds_is_read_as_seconds():
    """PyAirbyte's cache path sends emitted_at in seconds; it must not land in 1970."""
    assert thrivestack().map_record({"user_id": "a"}, 1732262400, None)["timestamp"] == "2024-11-22T08:00:00.000Z"


@pytest.mark.parametrize("competing", [False, True])  # the compiled layouts, and the general path
def test_blank_canonical_text_is_not_sent_but_blank_custom_data_is(competing):
    """An empty email or phone would erase Thrivestack's; an empty company id is no reason to
    lose the user."""
    record = {"user_id": "a", "email": "", "phone": " ", "company": {"id": ""}, "city": "Oslo", "plan": ""}
    if competing:
        record["userId"] = "b"
    event = thrivestack().map_record(record, 1732262400000, None)
    expected = {"enrichment_city": "Oslo", "plan": ""}
    assert event["traits"] == ({**expected, "userId": "b"} if competing else expected)
    assert "context" not in event


@pytest.mark.parametrize("competing", [False, True])  # the compiled layouts, and the general path
def test_airbyte_bookkeeping_columns_are_never_sent(competing):
    """Airbyte's `_airbyte_*` columns and its sources' `_ab_*` ones (CDC, file sources)."""
    record = {
        "user_id": "a",
        "_airbyte_raw_id": "r1",
        "_airbyte_extracted_at": 1,
        "_airbyte_meta": {"changes": []},
        "_ab_cdc_lsn": 27304500,
        "_ab_cdc_updated_at": "2024-02-01T10:05:00Z",
        "_ab_cdc_deleted_at": None,
        "_ab_source_file_url": "s3://bucket/users.csv",
        "plan": "pro",
    }
    if competing:
        record["userId"] = "b"  # two user id aliases: this layout is mapped the general way
    event = thrivestack().map_record(record, 1732262400000, None)
    assert event["traits"] == ({"plan": "pro", "userId": "b"} if competing else {"plan": "pro"})


@pytest.mark.parametrize(
    "record, emitted_at, reason",
    [
        ({"email": "a@example.com"}, EMITTED_AT, "no user id (user_id, userId or the stream's primary key)"),
        ({"user_id": None, "name": "x"}, EMITTED_AT, "no user id (user_id, userId or the stream's primary key)"),
        ({"user_id": ""}, EMITTED_AT, "user_id: empty"),
        ({"user_id": "u"}, None, "record has no emitted_at timestamp"),
        ({"user_id": "u", "city": "Oslo", "enrichment_city": "Bergen"}, EMITTED_AT, "two fields map to traits.enrichment_city; remove or rename one"),
    ],
)
def test_rejections_carry_a_reason(record, emitted_at, reason):
    with pytest.raises(RecordRejected) as caught:
        thrivestack().map_record(record, emitted_at, None)
    assert caught.value.reason == reason


def test_missing_emitted_at_is_rejected_even_on_a_fresh_vendor():
    # Regression: the emitted_at cache started as (None, ""), so None mapped to timestamp "".
    vendor = thrivestack()
    with pytest.raises(RecordRejected):
        vendor.map_record({"user_id": "u"}, None, None)


def test_auth_headers_and_calls():
    assert thrivestack().headers() == {"Authorization": "Bearer ts-key"}
    assert thrivestack(auth_method="x-api-key").headers() == {"x-api-key": "ts-key"}
    vendor = thrivestack()
    assert vendor.base_url == "https://api.app.thrivestack.ai"
    assert vendor.batch_call(b"[{}]") == HttpCall("POST", "/api/identify", b"[{}]")
    assert vendor.check_call() == HttpCall("POST", "/api/identify", b"[]")
    assert (vendor.limits.max_records, vendor.limits.max_bytes) == (1000, 2_000_000)


def test_unknown_auth_method_is_a_config_error():
    with pytest.raises(ConfigError, match="auth_method must be one of bearer, x-api-key"):
        thrivestack(auth_method="basic")


@pytest.mark.parametrize(
    "status, headers, verdict",
    [
        (200, {}, Accepted()),
        (429, {"retry-after": "7"}, Retry("Thrivestack answered 429", "7", rate_limited=True)),
        (500, {}, Retry("Thrivestack answered 500", None, rate_limited=False)),
        (503, {"retry-after": "2"}, Retry("Thrivestack answered 503", "2", rate_limited=False)),
        (408, {}, Retry("Thrivestack answered 408", None, rate_limited=False)),
        (404, {}, Fatal("Thrivestack answered 404 Not Found: check base_url (https://api.app.thrivestack.ai)")),
    ],
)
def test_read_response(status, headers, verdict):
    assert thrivestack().read_response(status, b"", headers, 3) == verdict


def test_400_refuses_the_batch_with_the_vendors_message():
    body = b'{"success": false, "message": "invalid input data"}'
    assert thrivestack().read_response(400, body, {}, 3) == BatchRefused("Thrivestack answered 400: invalid input data")


@pytest.mark.parametrize(
    "body, verdict",
    [
        (b'{"success": false, "message": "User(s) not identified"}',
         BatchRefused("Thrivestack answered 200 with success false: User(s) not identified")),
        (b'{"success": false}', BatchRefused("Thrivestack answered 200 with success false: no message")),
        (b'{"success": true, "response_id": "r-1", "message": "User(s) identified successfully"}', Accepted()),
        (b'{"response_id": "r-1"}', Accepted()),  # the newer API's answers need not carry `success`
        (b"OK", Accepted()),
        (b"", Accepted()),
    ],
)
def test_a_200_that_says_success_false_refuses_the_batch(body, verdict):
    assert thrivestack().read_response(200, body, {}, 3) == verdict


@pytest.mark.parametrize("status", [401, 403])
def test_bad_key_is_fatal_config_error(status):
    verdict = thrivestack().read_response(status, b'{"message": "Unauthorized"}', {}, 3)
    assert verdict == Fatal(f"Thrivestack rejected the API key ({status}): Unauthorized", "config_error")


def test_unexpected_status_is_a_system_error():
    assert thrivestack().read_response(418, b"teapot", {}, 1) == Fatal(
        "Thrivestack answered an unexpected 418: teapot", "system_error"
    )


@pytest.mark.parametrize(
    "status, result",
    [
        (200, CheckResult(True, "Thrivestack accepted the API key")),
        (400, CheckResult(True, "Thrivestack accepted the API key")),  # empty array: authenticated
        (401, CheckResult(False, "Thrivestack rejected the API key (401); check api_key")),
        (503, CheckResult(False, "Thrivestack is not available right now (503); try again later")),
    ],
)
def test_read_check(status, result):
    assert thrivestack().read_check(status, b"") == result


def test_an_emitted_at_out_of_range_rejects_the_record_instead_of_failing_the_sync():
    vendor = thrivestack()
    with pytest.raises(RecordRejected) as caught:
        vendor.map_record({"user_id": "u1"}, 1e300, None)
    assert caught.value.reason == "emitted_at: epoch number out of range"


def test_a_custom_field_named_like_a_documented_trait_follows_its_rule():
    """`enrichment_phone` is a list of strings whoever fills it (vendor-docs 003)."""
    vendor = thrivestack()
    record = {"user_id": "u1", "enrichment_phone": "+1 555 0100", "enrichment_city": "Oslo"}
    event = vendor.map_record(record, 1732262400000, None)
    assert event["traits"] == {"enrichment_phone": ["+1 555 0100"], "enrichment_city": "Oslo"}
    assert event == vendor.map_generally(record, 1732262400000, None)


def test_a_custom_field_named_like_a_documented_enrichment_trait_follows_its_rule():
    """The page types every enrichment_* trait as a string (enrichment_phone: a list of them)."""
    vendor = thrivestack()
    record = {
        "user_id": "u", "enrichment_github_handle": 5, "enrichment_active_at": 1700000000, "enrichment_inactive_at": "soon",
        "enrichment_phone": "+1", "plan": 3,
    }
    expected = {
        "user_id": "u",
        "traits": {
            "enrichment_github_handle": "5", "enrichment_active_at": "2023-11-14T22:13:20.000Z",
            "enrichment_inactive_at": "soon", "enrichment_phone": ["+1"], "plan": 3,
        },
        "timestamp": "2024-03-01T12:00:00.123Z",
    }
    assert vendor.map_record(record, EMITTED_AT, None) == expected
    assert vendor.map_generally(record, EMITTED_AT, None) == expected
    with pytest.raises(RecordRejected, match=r"^traits\.enrichment_location: expected text, got object$"):
        vendor.map_record({"user_id": "u", "enrichment_location": {"city": "Boston"}}, EMITTED_AT, None)
    with pytest.raises(RecordRejected, match=r"^traits\.enrichment_active_at: expected a date or timestamp, got boolean$"):
        vendor.map_record({"user_id": "u", "enrichment_active_at": True}, EMITTED_AT, None)


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_a_blank_user_id_is_rejected_on_the_compiled_path_too(blank):
    """The first record of a layout compiles it; the second is mapped by the compiled code,
    whose inline identifier check must refuse what identifier_text refuses."""
    vendor = thrivestack()
    for _ in range(2):
        with pytest.raises(RecordRejected, match="^user_id: empty$"):
            vendor.map_record({"user_id": blank, "plan": "pro"}, EMITTED_AT, None)
