"""parse_config and load_streams: defaults, unknown keys with hints, URL rules, sync modes."""

import re

import pytest

from destination_identify.catalog import load_streams
from destination_identify.config import TOP_LEVEL_OPTIONS, parse_config
from destination_identify.destination import config_problem
from destination_identify.errors import ConfigError
from destination_identify.retry import RetryPolicy
from destination_identify.vendors import VENDORS
from destination_identify.vendors.base import COMMON_OPTIONS, validate_base_url


def config(vendor="thrivestack", vendor_options=None, **top):
    return {"vendor": {"vendor": vendor, "api_key": "key-123", **(vendor_options or {})}, **top}


def test_defaults():
    parsed = parse_config(config())
    assert parsed.vendor.name == "thrivestack"
    assert parsed.vendor.base_url == "https://api.app.thrivestack.ai"
    assert parsed.vendor.auth_method == "bearer"
    assert parsed.flush_interval_seconds == 30
    assert parsed.read_timeout_seconds == 60
    assert parsed.connect_timeout_seconds == 10.0
    assert parsed.concurrency == 4
    assert parsed.max_rejected_ratio == 0.1
    assert parsed.retry == RetryPolicy(attempts=9, wait_initial=1, wait_max=60)


@pytest.mark.parametrize(
    "vendor, options, concurrency",
    [
        ("crowdpower", {}, 4),
        ("zaius", {}, 2),
        ("userpilot", {}, 1),
        ("userpilot", {"mode": "realtime"}, 4),
    ],
)
def test_default_concurrency_per_vendor(vendor, options, concurrency):
    assert parse_config(config(vendor, options)).concurrency == concurrency


def test_vendor_defaults():
    assert parse_config(config("crowdpower")).vendor.update_session is False
    assert parse_config(config("zaius")).vendor.user_id_attribute == "customer_id"
    userpilot = parse_config(config("userpilot")).vendor
    assert (userpilot.mode, userpilot.environment, userpilot.job_poll_interval_seconds) == ("bulk", "analytex", 5.0)


def test_explicit_values():
    parsed = parse_config(
        config(
            "userpilot",
            {"mode": "realtime"},
            flush_interval_seconds=0.5,
            max_concurrent_requests=8,
            max_retries=0,
            request_timeout_seconds=5,
            max_rejected_ratio=0.5,
            retry_wait_initial_seconds=0.01,
            retry_wait_max_seconds=0.1,
        )
    )
    assert parsed.flush_interval_seconds == 0.5
    assert parsed.concurrency == 8
    assert parsed.retry == RetryPolicy(attempts=1, wait_initial=0.01, wait_max=0.1)
    assert (parsed.connect_timeout_seconds, parsed.read_timeout_seconds) == (5, 5)
    assert parsed.max_rejected_ratio == 0.5


def test_userpilot_bulk_is_never_concurrent():
    assert parse_config(config("userpilot", max_concurrent_requests=8)).concurrency == 1


@pytest.mark.parametrize(
    "raw, message",
    [
        (config(flush_interval_second=5), "unknown option 'flush_interval_second' in the config (did you mean 'flush_interval_seconds'?)"),
        (config(max_retry=3), "unknown option 'max_retry' in the config (did you mean 'max_retries'?)"),
        (config(vendor_options={"api_kye": "x"}), "unknown option 'api_kye' in the Thrivestack settings (did you mean 'api_key'?)"),
        (config("zaius", {"user_id_atribute": "x"}), "(did you mean 'user_id_attribute'?)"),
        (config("userpilot", {"enviroment": "analytex-eu"}), "(did you mean 'environment'?)"),
        (config("crowdpower", {"update_sessions": True}), "(did you mean 'update_session'?)"),
    ],
)
def test_unknown_keys_are_config_errors_with_a_did_you_mean_hint(raw, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert message in str(caught.value)


def test_unknown_key_without_a_close_match_lists_the_allowed_ones():
    with pytest.raises(ConfigError) as caught:
        parse_config(config(zzz=1))
    assert str(caught.value).startswith("unknown option 'zzz' in the config; allowed: dry_run, dry_run_preview_count, exclude_fields, field_mapping, flush_interval_seconds, ")
    assert "did you mean" not in str(caught.value)


@pytest.mark.parametrize(
    "raw, message",
    [
        ([], "the config must be a JSON object"),
        ({}, "vendor must be an object with a 'vendor' key naming the vendor"),
        ({"vendor": {"vendor": "segment", "api_key": "k"}}, "vendor.vendor must be one of crowdpower, zaius, userpilot, thrivestack"),
        ({"vendor": {"vendor": "thrivestack"}}, "api_key is required for Thrivestack"),
        ({"vendor": {"vendor": "thrivestack", "api_key": "  "}}, "api_key is required for Thrivestack"),
        (config(max_retries=1.5), "max_retries must be a whole number"),
        (config(max_retries=True), "max_retries must be a whole number"),
        (config(flush_interval_seconds="30"), "flush_interval_seconds must be a number"),
        (config(max_concurrent_requests=0), "max_concurrent_requests must be between 1 and 32"),
        (config(max_rejected_ratio=1.5), "max_rejected_ratio must be between 0 and 1"),
        (config(request_timeout_seconds=0), "request_timeout_seconds must be between 0.1 and 600"),
    ],
)
def test_bad_values_are_config_errors(raw, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert str(caught.value) == message


def test_api_key_is_stripped_and_never_in_error_messages():
    assert parse_config(config(vendor_options={"api_key": " key-123 "})).vendor.api_key == "key-123"
    with pytest.raises(ConfigError) as caught:
        parse_config(config(vendor_options={"base_url": "http://example.com"}))
    assert "key-123" not in str(caught.value)


@pytest.mark.parametrize("api_key", ["sk_SECRET\nKEY", "sk_SECRET\tKEY", "sk_SECRET\x00KEY", "sk_SÉCRET", "sk_SECRET\u2028KEY"])
def test_an_api_key_no_http_header_can_carry_is_a_clear_config_error_without_the_key(api_key):
    with pytest.raises(ConfigError) as caught:
        parse_config(config(vendor_options={"api_key": api_key}))
    assert str(caught.value) == (
        "api_key contains a character an HTTP header cannot carry (a line break, a control or a "
        "non-ASCII character); copy the key again"
    )


@pytest.mark.parametrize(
    "url, result",
    [
        ("https://api.example.com", "https://api.example.com"),
        ("https://api.example.com/v1/", "https://api.example.com/v1"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:9000/", "http://localhost:9000"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        ("http://127.1.2.3", "http://127.1.2.3"),
    ],
)
def test_base_url_accepted(url, result):
    assert validate_base_url(url) == result
    assert parse_config(config(vendor_options={"base_url": url})).vendor.base_url == result


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://api.example.com", "base_url must use https:// (plain http is allowed only for loopback hosts)"),
        ("http://10.0.0.1", "base_url must use https:// (plain http is allowed only for loopback hosts)"),
        ("http://localhost.example.com", "base_url must use https:// (plain http is allowed only for loopback hosts)"),
        ("ftp://api.example.com", "base_url must be an absolute URL such as https://api.example.com"),
        ("api.example.com", "base_url must be an absolute URL such as https://api.example.com"),
        ("https://api.example.com/?key=1", "base_url must not carry a query string or fragment"),
        ("http://apikey:tok3n@127.0.0.1:8080", "base_url must not carry a user name or password (user:password@host); the key goes in api_key"),
        ("https://tok3n@api.example.com", "base_url must not carry a user name or password (user:password@host); the key goes in api_key"),
    ],
)
def test_base_url_rejected(url, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(config(vendor_options={"base_url": url}))
    assert str(caught.value) == message


def catalog(*streams):
    return {"streams": list(streams)}


def configured(name, mode="append", primary_key=None, namespace=None, schema=None):
    stream = {"name": name, "json_schema": schema or {}, "supported_sync_modes": ["full_refresh"]}
    if namespace:
        stream["namespace"] = namespace
    entry = {"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": mode}
    if primary_key is not None:
        entry["primary_key"] = primary_key
    return entry


def test_catalog_streams_and_user_id_fallback():
    streams = load_streams(
        catalog(
            configured("users", primary_key=[["id"]], namespace="crm"),
            configured("orgs", mode="append_dedup", primary_key=[["org", "id"]]),
            configured("events", primary_key=[["a"], ["b"]], schema={"type": "object"}),
        ),
        warn=lambda message: None,
    )
    assert list(streams) == [("crm", "users"), (None, "orgs"), (None, "events")]
    assert [s.user_id_field for s in streams.values()] == ["id", None, None]
    assert streams[("crm", "users")].label == "crm.users"
    assert streams[("crm", "users")].validator is None
    assert streams[(None, "events")].validator is not None


def test_overwrite_is_accepted_for_clear_data_but_its_records_are_refused():
    warnings = []
    streams = load_streams(catalog(configured("users", mode="overwrite")), warn=warnings.append)
    users = streams[(None, "users")]
    assert users.refusal_stops_sync
    assert "destination sync mode 'overwrite'" in users.refusal and "only append and append_dedup" in users.refusal
    assert warnings == [
        "stream 'users' is configured as overwrite: accepted for Airbyte's Clear data, which sends no records; "
        "a record of it stops the sync (identify calls cannot delete users)"
    ]


@pytest.mark.parametrize(
    "entry, message",
    [
        (None, "the configured catalog's stream 1 has no 'stream' object"),
        ({"stream": 1, "destination_sync_mode": "append"}, "the configured catalog's stream 1 has no 'stream' object"),
        ({"stream": {"name": "users", "namespace": [1]}}, "stream 'users' has a namespace that is not a string"),
        ({"stream": {"name": 5}}, "a configured stream has no name"),
    ],
)
def test_catalog_entries_of_the_wrong_shape_are_config_errors(entry, message):
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        load_streams(catalog(entry), warn=lambda text: None)


def test_a_sync_mode_that_is_never_honoured_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        load_streams(catalog(configured("users", mode="soft_delete")), warn=lambda message: None)
    assert "destination sync mode 'soft_delete'" in str(caught.value)


def test_uncompilable_schema_warns_and_skips_validation():
    warnings = []
    streams = load_streams(catalog(configured("users", schema={"type": "nonsense"})), warn=warnings.append)
    assert streams[(None, "users")].validator is None
    assert len(warnings) == 1
    assert warnings[0].startswith("stream 'users': its JSON Schema cannot be compiled (")
    assert warnings[0].endswith("); records are not validated")


def test_a_rule_only_the_spec_states_is_reported_by_place_and_rule_never_by_value():
    valid = config()
    assert config_problem(valid, {"type": "object"}) is None
    spec = {"type": "object", "properties": {"vendor": {"properties": {"api_key": {"maxLength": 3}}}}}
    assert config_problem(valid, spec) == "Invalid configuration: vendor.api_key does not satisfy the spec's 'maxLength' rule"
    assert config_problem(valid, {"required": ["elsewhere"]}) == (
        "Invalid configuration: the config does not satisfy the spec's 'required' rule"
    )
    assert config_problem({"vendor": {"vendor": "zaius", "apikey": "sk_SECRET"}}, {}) == (
        "Invalid configuration: unknown option 'apikey' in the Zaius (Optimizely Data Platform) settings "
        "(did you mean 'api_key'?); allowed: api_key, base_url, user_id_attribute, vendor"
    )


WRONG_TYPES = [["x"], {"a": 1}, 1.5, True, [], {}]
# A wrong value that an option takes as valid: field_mapping and exclude_fields are lists (empty
# is none), dry_run is a boolean, update_session too, the numbers take 1.5 where not whole.
VALID_ANYWAY = {
    ("field_mapping", "[]"), ("exclude_fields", "[]"), ("exclude_fields", "['x']"), ("dry_run", "True"), ("update_session", "True"),
    ("flush_interval_seconds", "1.5"), ("request_timeout_seconds", "1.5"), ("max_rejected_ratio", "1.5"),
    ("retry_wait_initial_seconds", "1.5"), ("retry_wait_max_seconds", "1.5"), ("job_poll_interval_seconds", "1.5"),
}


def all_option_names():
    """(vendor, option, where) for every option the code accepts: top-level ones under
    thrivestack, each vendor's own under that vendor, so none is left out or made up."""
    yield from (("thrivestack", name, "top") for name in sorted(TOP_LEVEL_OPTIONS - {"vendor"}))
    for vendor, vendor_class in VENDORS.items():
        yield from ((vendor, name, "vendor") for name in sorted(COMMON_OPTIONS | vendor_class.extra_options))


WRONG_VALUE_CASES = [
    (vendor, name, where, value)
    for vendor, name, where in all_option_names()
    for value in WRONG_TYPES
    if (name, repr(value)) not in VALID_ANYWAY
]


@pytest.mark.parametrize(("vendor", "name", "where", "value"), WRONG_VALUE_CASES)
def test_a_value_of_a_wrong_type_is_a_config_error_never_a_crash_nor_a_default(vendor, name, where, value):
    """check reports a ConfigError in words; anything else would be a system error with a trace,
    and a wrong value taken as unset would silently run with the default."""
    options = {"vendor": vendor, "api_key": "key-123"}
    raw = {"vendor": options}
    if where == "top":
        raw[name] = value
    else:
        options[name] = value
    with pytest.raises(ConfigError):
        parse_config(raw)
