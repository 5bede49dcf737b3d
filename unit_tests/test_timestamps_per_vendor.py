"""Every timestamp form, through every vendor: what each one sends for a sign-up time.

CrowdPower wants UNIX seconds and Userpilot ISO-8601 text; Thrivestack traits and Zaius
attributes take the value as the source had it (no vendor rule asks for a conversion there).
"""

import pytest

from destination_identify.errors import RecordRejected
from destination_identify.vendors import vendor_from_config

EMITTED_AT = 1732262400000
EIGHT_AM = 1705305600  # 2024-01-15T08:00:00Z
FORMS = [
    ("iso with Z", "2024-01-15T08:00:00Z", EIGHT_AM, "2024-01-15T08:00:00.000Z"),
    ("iso with offset 0", "2024-01-15T08:00:00+00:00", EIGHT_AM, "2024-01-15T08:00:00.000Z"),
    ("iso with offset +1", "2024-01-15T09:00:00+01:00", EIGHT_AM, "2024-01-15T08:00:00.000Z"),
    ("timestamp_without_timezone (UTC)", "2024-01-15T08:00:00", EIGHT_AM, "2024-01-15T08:00:00.000Z"),
    ("iso with fraction", "2024-01-15T08:00:00.250Z", EIGHT_AM, "2024-01-15T08:00:00.250Z"),
    ("date", "2024-01-15", EIGHT_AM - 8 * 3600, "2024-01-15T00:00:00.000Z"),
    ("epoch seconds", EIGHT_AM, EIGHT_AM, "2024-01-15T08:00:00.000Z"),
    ("epoch milliseconds", EIGHT_AM * 1000, EIGHT_AM, "2024-01-15T08:00:00.000Z"),
    ("epoch seconds as text", str(EIGHT_AM), EIGHT_AM, "2024-01-15T08:00:00.000Z"),
]


def vendor(name, **options):
    return vendor_from_config({"vendor": name, "api_key": "k", **options})


@pytest.mark.parametrize("form, value, unix, iso", FORMS, ids=[form[0] for form in FORMS])
def test_crowdpower_sends_unix_seconds(form, value, unix, iso):
    customer = vendor("crowdpower").map_record({"user_id": "u", "created_at": value}, EMITTED_AT, None)
    assert customer["signed_up_at"] == unix


@pytest.mark.parametrize("form, value, unix, iso", FORMS, ids=[form[0] for form in FORMS])
@pytest.mark.parametrize("mode", ["bulk", "realtime"])
def test_userpilot_sends_iso_8601_utc(form, value, unix, iso, mode):
    user = vendor("userpilot", mode=mode).map_record({"user_id": "u", "createdAt": value}, EMITTED_AT, None)
    assert user["metadata"] == {"created_at": iso}


@pytest.mark.parametrize("form, value, unix, iso", FORMS, ids=[form[0] for form in FORMS])
def test_thrivestack_and_zaius_keep_the_value_as_the_source_had_it(form, value, unix, iso):
    event = vendor("thrivestack").map_record({"user_id": "u", "created_at": value}, EMITTED_AT, None)
    assert event["traits"] == {"created_at": value}
    assert event["timestamp"] == "2024-11-22T08:00:00.000Z"  # the record's emitted_at
    profile = vendor("zaius").map_record({"email": "a@example.com", "created_at": value}, EMITTED_AT, None)
    assert profile["attributes"]["created_at"] == value


def test_crowdpower_custom_date_times_become_unix_seconds_but_dates_and_text_stay():
    customer = vendor("crowdpower").map_record(
        {"user_id": "u", "last_seen": "2024-01-15T09:00:00+01:00", "birthday": "2024-01-15", "note": "2024 plans"},
        EMITTED_AT,
        None,
    )
    assert customer["custom_attributes"] == {"last_seen": EIGHT_AM, "birthday": "2024-01-15", "note": "2024 plans"}


@pytest.mark.parametrize("name, options", [("crowdpower", {}), ("userpilot", {})])
@pytest.mark.parametrize("bad", ["yesterday", "2024-13-45", True, {"at": 1}])
def test_an_unreadable_sign_up_time_rejects_the_record_naming_the_field(name, options, bad):
    with pytest.raises(RecordRejected) as rejected:
        vendor(name, **options).map_record({"user_id": "u", "created_at": bad}, EMITTED_AT, None)
    assert rejected.value.reason.startswith("created_at: ")
