"""Userpilot: bulk and realtime shapes, metadata values per mode, hosts, jobs and verdicts."""

import pytest

from destination_identify.errors import ConfigError, RecordRejected
from destination_identify.vendors import vendor_from_config
from destination_identify.vendors.base import Accepted, BatchRefused, CheckResult, Fatal, HttpCall, JobPending, Retry
from unit_tests.source_rows import HUBSPOT


def userpilot(**options):
    return vendor_from_config({"vendor": "userpilot", "api_key": "up-key", **options})


RECORD = {
    "user_id": "u-42",
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "created_at": "2024-03-01T13:00:00+01:00",
    "company": {"id": 501, "name": "Analytical Engines", "size": 12},
    "avg_resolution_time": 3.25,
    "big": 1e20,
    "ratio": 3.0,
    "seats": 0,
    "beta": True,
    "churned": False,
    "tags": ["math", "poetry"],
    "address": {"city": "London"},
    "deleted_at": None,
}
COMMON_METADATA = {
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "created_at": "2024-03-01T12:00:00.000Z",
    "company_size": "12",
    "avg_resolution_time": "3.25",
    "big": "100000000000000000000",
    "ratio": "3",
    "seats": "0",
    "beta": "true",
    "churned": "false",
    "tags": "math, poetry",
    "address_city": "London",
}


# Bulk takes primitives (its page sends `"tickets_pending": 3`): numbers and booleans keep their type.
BULK_TYPED = {
    "company_size": 12, "avg_resolution_time": 3.25, "big": 1e20, "ratio": 3.0, "seats": 0, "beta": True, "churned": False
}


def test_golden_bulk_user_has_company_id_and_typed_metadata():
    assert userpilot().map_record(RECORD, 1, None) == {
        "user_id": "u-42",
        "company_id": "501",
        "metadata": {**COMMON_METADATA, **BULK_TYPED, "company_name": "Analytical Engines"},
    }


def test_bulk_rejects_a_number_json_cannot_carry():
    with pytest.raises(RecordRejected, match=r"^score: not a finite number$"):
        userpilot().map_record({"user_id": "u", "score": float("nan")}, 1, None)


def test_golden_realtime_user_has_a_company_object():
    assert userpilot(mode="realtime").map_record(RECORD, 1, None) == {
        "user_id": "u-42",
        "company": {"company_id": "501", "name": "Analytical Engines"},
        "metadata": COMMON_METADATA,
    }


def test_every_realtime_metadata_value_is_a_string():
    """The real-time OpenAPI accepts only string metadata values."""
    metadata = userpilot(mode="realtime").map_record(RECORD, 1, None)["metadata"]
    assert all(type(value) is str for value in metadata.values())


def test_realtime_company_name_without_an_id_stays_in_metadata():
    assert userpilot(mode="realtime").map_record({"user_id": "u", "companyName": "Acme"}, 1, None) == {
        "user_id": "u",
        "metadata": {"company_name": "Acme"},
    }


@pytest.mark.parametrize(
    "created, iso",
    [
        (1709294400123, "2024-03-01T12:00:00.123Z"),  # epoch milliseconds
        (1709294400, "2024-03-01T12:00:00.000Z"),  # epoch seconds
        ("2024-03-01T12:00:00Z", "2024-03-01T12:00:00.000Z"),
        ("2024-03-01T12:00:00", "2024-03-01T12:00:00.000Z"),  # no zone: UTC
        ("2024-03-01T07:00:00-05:00", "2024-03-01T12:00:00.000Z"),
        ("2024-03-01", "2024-03-01T00:00:00.000Z"),  # a date
    ],
)
@pytest.mark.parametrize("field", ["created_at", "createdAt", "signed_up_at"])
def test_created_at_is_iso_8601_utc(field, created, iso):
    assert userpilot().map_record({"user_id": "u", field: created}, 1, None) == {
        "user_id": "u",
        "metadata": {"created_at": iso},
    }


def test_minimal_user_and_primary_key_fallback():
    assert userpilot().map_record({"userId": 5}, 1, None) == {"user_id": "5"}
    assert userpilot().map_record({"id": "pk-1", "plan": "pro"}, 1, "id") == {"user_id": "pk-1", "metadata": {"plan": "pro"}}


@pytest.mark.parametrize(
    "mode, record, reason",
    [
        ("bulk", {"email": "a@example.com"}, "no user id (user_id, userId or the stream's primary key)"),
        ("realtime", {"user_id": None, "email": "a@example.com"}, "no user id (user_id, userId or the stream's primary key)"),
        ("bulk", {"user_id": "u", "created_at": "soon"}, "created_at: not an ISO-8601 date or date-time"),
        ("bulk", {"user_id": "u", "createdAt": 1, "created": {"at": 2}}, "two fields map to metadata.created_at; remove or rename one"),
        ("realtime", {"user_id": "u", "companyName": "A", "company": {"name": "B"}}, "two fields map to metadata.company_name; remove or rename one"),
        ("bulk", {"user_id": "u", "company_id": 1.5}, "company_id: expected a string or integer identifier, got number"),
        ("bulk", {"user_id": "u", "prefs": {"news": True}, "prefs_news": False}, "two fields flatten to 'prefs_news'; rename one"),
    ],
)
def test_rejections_carry_a_reason(mode, record, reason):
    with pytest.raises(RecordRejected) as caught:
        userpilot(mode=mode).map_record(record, 1, None)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    "options, base_url",
    [
        ({}, "https://analytex.userpilot.io"),
        ({"environment": "analytex"}, "https://analytex.userpilot.io"),
        ({"environment": "analytex-eu"}, "https://analytex-eu.userpilot.io"),
        ({"environment": "analytex-eu", "base_url": "https://acme.userpilot.io/"}, "https://acme.userpilot.io"),
        ({"base_url": "https://acme.userpilot.io"}, "https://acme.userpilot.io"),
    ],
)
def test_environment_and_base_url_precedence(options, base_url):
    assert userpilot(**options).base_url == base_url


@pytest.mark.parametrize(
    "options, message",
    [
        ({"environment": "analytex-us"}, "environment must be one of analytex, analytex-eu"),
        ({"mode": "batch"}, "mode must be one of bulk, realtime"),
        ({"job_poll_interval_seconds": 0}, "job_poll_interval_seconds must be a positive number"),
    ],
)
def test_bad_options(options, message):
    with pytest.raises(ConfigError, match=message):
        userpilot(**options)


def test_headers_limits_and_calls_per_mode():
    bulk, realtime = userpilot(), userpilot(mode="realtime")
    assert bulk.headers() == {"Authorization": "Token up-key", "X-API-Version": "2020-09-22"}
    assert (bulk.limits.max_records, bulk.max_concurrency, bulk.requests_per_second) == (10_000, 1, None)
    assert (realtime.limits.max_records, realtime.requests_per_second) == (1, 9.5)
    assert bulk.body_prefix + bulk.body_separator.join([b"{}", b"{}"]) + bulk.body_suffix == b'{"users":[{},{}]}'
    assert realtime.body_prefix + realtime.body_separator.join([b"{}"]) + realtime.body_suffix == b"{}"
    assert bulk.batch_call(b"b") == HttpCall("POST", "/v1/users/bulk_identify", b"b")
    assert realtime.batch_call(b"r") == HttpCall("POST", "/v1/identify", b"r")
    assert bulk.check_call() == HttpCall("GET", "/v1/validate")


def test_bulk_acceptance_is_a_job_polled_at_its_url_encoded_path():
    verdict = userpilot().read_response(202, b'{"job_id": "bulk:job/7", "status": "queued"}', {}, 10)
    assert verdict == JobPending("bulk:job/7", HttpCall("GET", "/v1/background_jobs/bulk%3Ajob%2F7"))


def test_bulk_acceptance_without_a_job_id_is_a_protocol_error():
    assert userpilot().read_response(202, b'{"status": "queued"}', {}, 10) == Fatal(
        "Userpilot accepted a bulk request but answered no job_id", "system_error"
    )


def test_realtime_acceptance_is_final():
    assert userpilot(mode="realtime").read_response(202, b"{}", {}, 1) == Accepted()


@pytest.mark.parametrize("status", ["queued", "validating", "processing", "pending_refresh"])
def test_poll_of_an_unsettled_job_keeps_waiting(status):
    job = JobPending("j:1", HttpCall("GET", "/v1/background_jobs/j%3A1"))
    assert userpilot().read_poll(200, b'{"status": "%s"}' % status.encode(), job) is job


def test_poll_completed_failed_missing_and_outage():
    vendor, job = userpilot(), JobPending("j:1", HttpCall("GET", "/v1/background_jobs/j%3A1"))
    assert vendor.read_poll(200, b'{"job_id": "j:1", "status": "completed"}', job) == Accepted()
    assert vendor.read_poll(200, b'{"status": "failed"}', job) == Fatal("Userpilot bulk job j:1 failed", "transient_error")
    assert vendor.read_poll(404, b"", job) == Fatal("Userpilot does not know bulk job j:1 (404)", "system_error")
    assert vendor.read_poll(503, b"", job) == Retry("Userpilot answered 503", None, rate_limited=False)


@pytest.mark.parametrize(
    "status, headers, verdict",
    [
        (400, {}, BatchRefused("Userpilot answered 400: user_id must be a string")),
        (401, {}, Fatal("Userpilot rejected the API key (401): user_id must be a string", "config_error")),
        (404, {}, Fatal("Userpilot answered 404 Not Found: check base_url (https://analytex.userpilot.io)")),
        (409, {}, Retry("Userpilot answered 409: a bulk job is already running", None, busy=True)),
        (429, {}, Retry("Userpilot answered 429", None, rate_limited=True)),
        (500, {"retry-after": "3"}, Retry("Userpilot answered 500", "3", rate_limited=False)),
    ],
)
def test_read_response(status, headers, verdict):
    body = b'{"errors": [{"message": "user_id must be a string"}]}'
    assert userpilot().read_response(status, body, headers, 10) == verdict


@pytest.mark.parametrize(
    "status, result",
    [
        (200, CheckResult(True, "Userpilot accepted the API key")),
        (401, CheckResult(False, "Userpilot rejected the API key (401); check api_key")),
        (429, CheckResult(False, "Userpilot is not available right now (429); try again later")),
    ],
)
def test_read_check(status, result):
    assert userpilot().read_check(status, b"") == result


# ---- source-hubspot: a `properties` object beside its flattened `properties_*` columns -----------



@pytest.mark.parametrize("mode, notes", [("bulk", 3), ("realtime", "3")])
def test_a_hubspot_row_sends_each_duplicated_property_once(mode, notes):
    assert userpilot(mode=mode).map_record(HUBSPOT, 1, "id") == {
        "user_id": "151",
        "metadata": {
            "properties_email": "m@x.es",
            "properties_firstname": "Marta",
            "properties_createdate": "2024-01-15T10:30:00.000Z",
            "properties_num_notes": notes,
        },
    }


@pytest.mark.parametrize("mode", ["bulk", "realtime"])
def test_a_duplicated_property_with_another_value_still_rejects_the_record(mode):
    with pytest.raises(RecordRejected) as caught:
        userpilot(mode=mode).map_record({**HUBSPOT, "properties_email": "other@x.es"}, 1, "id")
    assert caught.value.reason == "two fields flatten to 'properties_email'; rename one"


# ---- text that only starts like a date-time is text (no date conversion here, unlike CrowdPower) --


@pytest.mark.parametrize("mode", ["bulk", "realtime"])
def test_text_that_starts_like_a_date_time_is_sent_as_it_is(mode):
    notes = "2024-01-15 10:30 called, wants refund"
    assert userpilot(mode=mode).map_record({"user_id": "u", "notes": notes}, 1, None)["metadata"] == {"notes": notes}


# ---- values with no flat form go as compact JSON text -------------------------------------------


@pytest.mark.parametrize("mode", ["bulk", "realtime"])
def test_a_list_of_objects_is_sent_as_its_compact_json_text_without_nulls(mode):
    record = {
        "user_id": "u",
        "addresses": [{"address1": "1 Main St", "city": "Oslo", "company": None}, {"city": "Bergen", "default": False}],
        "tags": ["vip", "beta"],
        "companies": [{"id": 7, "name": "Acme"}],
    }
    assert userpilot(mode=mode).map_record(record, 1, None)["metadata"] == {
        "addresses": '[{"address1":"1 Main St","city":"Oslo"},{"city":"Bergen","default":false}]',
        "tags": "vip, beta",
        "companies": '[{"id":7,"name":"Acme"}]',
    }


def test_a_mapped_list_of_objects_goes_to_its_metadata_key_as_json_text():
    vendor = userpilot()
    payload = {"user_id": "u"}
    vendor.place_native(payload, "addresses", [{"city": "Oslo"}])
    assert payload == {"user_id": "u", "metadata": {"addresses": '[{"city":"Oslo"}]'}}
