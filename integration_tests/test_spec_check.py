"""`spec` and `check` run as processes: the spec is a valid form, check proves a key or says
clearly why not, never with a trace and never showing the key.

Each CLI start costs ~2.5 s of imports, so a vendor's checks run as concurrent processes."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import jsonschema
import pytest

from integration_tests.cli import API_KEY, PROJECT_ROOT, connector_config, free_port, run_cli, write_json

WRONG_KEY = "wrongPub9.wr0ngS3cretQ"
ZAIUS_REFUSED = (
    "Zaius refused the API key (403). Either the key is wrong, or it is a public key: public keys can write "
    "profiles but not read them, and check reads one. Use the private key (it looks like <public>.<secret>)."
)
SPEC = json.loads((PROJECT_ROOT / "destination_identify" / "spec.json").read_text())["connectionSpecification"]
VENDOR_OPTIONS = {o["properties"]["vendor"]["const"]: o for o in SPEC["properties"]["vendor"]["oneOf"]}


def unknown_option(name: str, where: str, suggestion: str | None, allowed) -> str:
    """The connector's message; `allowed` must be exactly the options the spec offers there."""
    hint = f" (did you mean '{suggestion}'?)" if suggestion else ""
    return f"Invalid configuration: unknown option '{name}' in {where}{hint}; allowed: {', '.join(sorted(allowed))}"


# case -> (vendor, options, accepted message, wrong-key message, a misspelt vendor option, where
# it is reported and the suggestion; None where another case covers it)
CASES = {
    "thrivestack-bearer": (
        "thrivestack",
        {"auth_method": "bearer"},
        "Thrivestack accepted the API key",
        "Thrivestack rejected the API key (401); check api_key",
        ("auth", "the Thrivestack settings", None),
    ),
    "thrivestack-x-api-key": (
        "thrivestack",
        {"auth_method": "x-api-key"},
        "Thrivestack accepted the API key",
        "Thrivestack rejected the API key (401); check api_key",
        None,
    ),
    "crowdpower": (
        "crowdpower",
        {},
        "CrowdPower accepted the API key",
        "CrowdPower rejected the API key (401); check api_key",
        ("update_sessions", "the CrowdPower settings", "update_session"),
    ),
    "zaius": (
        "zaius",
        {},
        "Zaius accepted the API key",
        ZAIUS_REFUSED,
        ("user_id_attr", "the Zaius (Optimizely Data Platform) settings", "user_id_attribute"),
    ),
    "userpilot": (
        "userpilot",
        {"mode": "realtime"},
        "Userpilot accepted the API key",
        "Userpilot rejected the API key (401); check api_key",
        ("modes", "the Userpilot settings", "mode"),
    ),
}


def run_check(path, config: dict, secrets=()) -> dict:
    result = run_cli(["check", "--config", str(write_json(path, config))], secrets=secrets)
    assert result.returncode == 0
    assert result.stderr == b""
    assert [m["type"] for m in result.messages] == ["CONNECTION_STATUS"]  # never a TRACE
    return result.messages[0]["connectionStatus"]


def run_checks(tmp_path, configs: dict, secrets=()) -> dict:
    """name -> config; the checks run as concurrent processes; returns name -> connectionStatus."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            name: pool.submit(run_check, tmp_path / f"{name}.json", config, secrets) for name, config in configs.items()
        }
        return {name: future.result() for name, future in futures.items()}


def test_spec_is_a_valid_json_schema_with_one_option_per_vendor():
    result = run_cli(["spec"])
    assert result.returncode == 0
    assert [m["type"] for m in result.messages] == ["SPEC"]
    specification = result.messages[0]["spec"]
    schema = specification["connectionSpecification"]
    jsonschema.Draft7Validator.check_schema(schema)
    assert specification["supported_destination_sync_modes"] == ["append", "append_dedup"]
    assert schema["required"] == ["vendor"]
    assert schema["properties"]["flush_interval_seconds"]["default"] == 30

    vendor_property = schema["properties"]["vendor"]
    assert "anyOf" not in vendor_property  # the CDK masks secrets only under oneOf
    options = vendor_property["oneOf"]
    assert [option["properties"]["vendor"]["const"] for option in options] == [
        "crowdpower",
        "zaius",
        "userpilot",
        "thrivestack",
    ]
    for option in options:
        assert set(option["required"]) == {"vendor", "api_key"}
        assert option["properties"]["api_key"]["type"] == "string"
        assert option["properties"]["api_key"]["airbyte_secret"] is True
        assert option["properties"]["base_url"]["type"] == "string"

    # Each config the tests use is valid for the spec and matches exactly its vendor's option.
    for vendor, vendor_options, *_ in CASES.values():
        config = connector_config(vendor, "http://127.0.0.1:1", **vendor_options)
        assert list(jsonschema.Draft7Validator(schema).iter_errors(config)) == []
        matching = [o for o in options if not list(jsonschema.Draft7Validator(o).iter_errors(config["vendor"]))]
        assert [o["properties"]["vendor"]["const"] for o in matching] == [vendor]


@pytest.mark.parametrize("case", list(CASES))
def test_check(tmp_path, emulator, auth_styles, case):
    """Right key: SUCCEEDED and nothing written. Wrong key: FAILED naming the vendor and the
    status. Unreachable: FAILED "cannot reach". Misspelt option: FAILED naming it."""
    vendor, options, accepted, refused, misspelt = CASES[case]
    unreachable = f"http://127.0.0.1:{free_port()}"
    configs = {
        "right": connector_config(vendor, emulator.url, **options),
        "wrong": connector_config(vendor, emulator.url, api_key=WRONG_KEY, **options),
    }
    if misspelt:
        configs["unreachable"] = connector_config(vendor, unreachable, **options)
        configs["misspelt"] = connector_config(vendor, emulator.url, **options, **{misspelt[0]: True})
    statuses = run_checks(tmp_path, configs, secrets=[WRONG_KEY])

    assert statuses["right"] == {"status": "SUCCEEDED", "message": accepted}
    assert statuses["wrong"] == {"status": "FAILED", "message": refused}
    if misspelt:
        assert statuses["unreachable"] == {"status": "FAILED", "message": f"cannot reach {unreachable}: connection refused"}
        name, where, suggestion = misspelt
        allowed = VENDOR_OPTIONS[vendor]["properties"]
        assert statuses["misspelt"] == {"status": "FAILED", "message": unknown_option(name, where, suggestion, allowed)}

    stats = emulator.stats()
    assert stats["requests"] == 2  # one probe per check that got past the config
    assert stats["auth_failures"] == 1
    assert stats["accepted_count"] == {"thrivestack": 0, "crowdpower": 0, "zaius": 0, "userpilot": 0}
    assert stats["missing_api_version"] == 0
    if vendor == "thrivestack":
        assert auth_styles == [options["auth_method"]] * 2


def test_check_explains_public_keys_and_names_an_unknown_top_level_key(tmp_path, emulator):
    public_key = API_KEY.split(".")[0]  # Zaius public keys can write but not read
    misspelt = connector_config("thrivestack", emulator.url)
    misspelt["flush_interval_secs"] = 5
    statuses = run_checks(
        tmp_path,
        {"public": connector_config("zaius", emulator.url, api_key=public_key), "misspelt": misspelt},
        secrets=[public_key],
    )
    assert statuses["public"] == {"status": "FAILED", "message": ZAIUS_REFUSED}
    assert statuses["misspelt"] == {
        "status": "FAILED",
        "message": unknown_option("flush_interval_secs", "the config", "flush_interval_seconds", SPEC["properties"]),
    }
    assert emulator.stats()["requests"] == 1


def test_check_and_discover_never_print_the_key_of_a_wrong_config_or_a_vendor_echoing_it(tmp_path, emulator):
    """A misspelled secret field is not masked by the spec (the CDK's spec check would quote the
    whole vendor object); a vendor answer or a base_url carrying the key is masked."""
    key = "sk_SECRETKEY_9f8e7d"
    misspelt = {"vendor": {"vendor": "zaius", "apikey": key}}
    statuses = run_checks(tmp_path, {"misspelt": misspelt, "pasted": {"vendor": key}}, secrets=[key])
    assert statuses["misspelt"] == {
        "status": "FAILED",
        "message": unknown_option("apikey", "the Zaius (Optimizely Data Platform) settings", "api_key", VENDOR_OPTIONS["zaius"]["properties"]),
    }
    assert statuses["pasted"] == {
        "status": "FAILED",
        "message": "Invalid configuration: vendor must be an object with a 'vendor' key naming the vendor",
    }
    discovered = run_cli(["discover", "--config", str(write_json(tmp_path / "discover.json", misspelt))], secrets=[key])
    assert discovered.returncode == 1
    assert [m["trace"]["error"]["failure_type"] for m in discovered.messages if m["type"] == "TRACE"] == ["config_error"]

    emulator.inject({"status": 418, "body": {"message": f"unknown key {API_KEY}"}})
    echoed = run_check(tmp_path / "echoed.json", connector_config("crowdpower", emulator.url))
    assert echoed == {"status": "FAILED", "message": "CrowdPower answered 418: unknown key ****"}
    in_url = run_check(tmp_path / "in_url.json", connector_config("crowdpower", f"{emulator.url}/{API_KEY}"))
    assert in_url == {"status": "FAILED", "message": f"CrowdPower answered 404 at {emulator.url}/****; check base_url"}
