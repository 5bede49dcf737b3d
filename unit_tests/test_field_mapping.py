"""field_mapping, exclude_fields and unmapped_fields: compiled against each vendor, applied per record."""

import copy

import pytest

from destination_identify.config import parse_config
from destination_identify.errors import ConfigError, RecordRejected
from destination_identify.field_mapping import take

EMITTED = 1705314600000


def mapper(vendor="crowdpower", vendor_options=None, **top):
    raw = {"vendor": {"vendor": vendor, "api_key": "key-123", **(vendor_options or {})}, **top}
    return parse_config(raw).mapper


def rules(*pairs):
    return [{"source": source, "target": target} for source, target in pairs]


# ---- paths ---------------------------------------------------------------------------------


def test_take_reaches_into_nested_objects_without_changing_the_input():
    data = {"profile": {"mail": "a@x.io", "age": 3}, "keep": 1}
    original = copy.deepcopy(data)
    work = dict(data)
    assert take(work, "profile.mail") == "a@x.io"
    assert work == {"profile": {"age": 3}, "keep": 1}
    assert data == original


def test_take_removes_an_object_left_empty_and_prefers_a_dotted_key():
    work = {"profile": {"mail": "a"}, "a.b": 1, "a": {"b": 2}}
    assert take(work, "profile.mail") == "a"
    assert take(work, "a.b") == 1
    assert work == {"a": {"b": 2}}
    assert take(work, "missing.path") is None


# ---- canonical targets ---------------------------------------------------------------------


def test_nested_source_to_canonical_target_wins_over_the_default_alias():
    m = mapper(field_mapping=rules(("profile.mail", "email")))
    payload = m.map({"user_id": "u1", "email": "old@x.io", "profile": {"mail": "new@x.io"}}, EMITTED, None)
    # the default `email` column is not lost: it stays custom data under its own name
    assert payload == {
        "user_id": "u1",
        "email": "new@x.io",
        "custom_attributes": {"email": "old@x.io"},
        "update_session": False,
    }


def test_mapped_canonical_target_absent_in_a_record_is_not_filled_from_defaults():
    m = mapper("thrivestack", field_mapping=rules(("login", "user_id")))
    with pytest.raises(RecordRejected):
        m.map({"user_id": "u1"}, EMITTED, "user_id")
    assert m.map({"login": 7, "user_id": "u1"}, EMITTED, None)["user_id"] == "7"


def test_canonical_targets_per_vendor():
    data = {"id": "u1", "mail": "a@x.io", "nm": "Ada King"}
    cases = {
        "crowdpower": ({"user_id": "u1", "email": "a@x.io", "name": "Ada King", "update_session": False}),
        "thrivestack": {
            "user_id": "u1",
            "traits": {"email": "a@x.io", "enrichment_full_name": "Ada King"},
            "timestamp": "2024-01-15T10:30:00.000Z",
        },
        "zaius": {"attributes": {"customer_id": "u1", "email": "a@x.io", "first_name": "Ada", "last_name": "King"}},
    }
    for vendor, expected in cases.items():
        m = mapper(vendor, field_mapping=rules(("id", "user_id"), ("mail", "email"), ("nm", "name")))
        assert m.map(data, EMITTED, None) == expected, vendor
    up = mapper("userpilot", {"mode": "realtime"}, field_mapping=rules(("id", "user_id"), ("org", "company_id")))
    assert up.map({"id": 1, "org": 9, "companyName": "Acme"}, EMITTED, None) == {
        "user_id": "1",
        "company": {"company_id": "9", "name": "Acme"},
    }


def test_a_nested_source_is_taken_before_its_parent_is_mapped_whole():
    """`profile.mail` -> email and `profile` -> a custom attribute: the email is taken first, the
    parent carries what is left, whatever order the rules come in."""
    for pairs in ((("profile", "custom_attributes.profile"), ("profile.mail", "email")),
                  (("profile.mail", "email"), ("profile", "custom_attributes.profile"))):
        m = mapper(field_mapping=rules(*pairs))
        payload = m.map({"user_id": "u", "profile": {"mail": "a@x.io", "plan": "pro"}}, EMITTED, None)
        assert payload["email"] == "a@x.io"
        assert payload["custom_attributes"] == {"profile_plan": "pro"}


def test_one_source_may_feed_two_targets():
    m = mapper(field_mapping=rules(("mail", "email"), ("mail", "custom_attributes.login")))
    payload = m.map({"user_id": "u", "mail": "a@x.io"}, EMITTED, None)
    assert payload["email"] == "a@x.io" and payload["custom_attributes"] == {"login": "a@x.io"}


# ---- native targets ------------------------------------------------------------------------


def test_crowdpower_custom_attribute_follows_its_value_rules():
    m = mapper(field_mapping=rules(("p.tier", "custom_attributes.plan"), ("p.since", "custom_attributes.since")))
    payload = m.map({"user_id": "u", "p": {"tier": "pro", "since": "2024-01-15T10:30:00Z"}}, EMITTED, None)
    assert payload["custom_attributes"] == {"plan": "pro", "since": 1705314600}
    assert "p" not in payload["custom_attributes"]


def test_thrivestack_traits_and_context_take_json_as_is():
    m = mapper("thrivestack", field_mapping=rules(("gh", "traits.enrichment_github_handle"), ("dev", "context.device")))
    payload = m.map({"user_id": "u", "gh": "ada", "dev": {"os": "linux", "x": None}}, EMITTED, None)
    assert payload["traits"] == {"enrichment_github_handle": "ada"}
    assert payload["context"] == {"device": {"os": "linux"}}


@pytest.mark.parametrize("mode, seats", [("realtime", "5"), ("bulk", 5)])
def test_userpilot_native_metadata_follows_the_modes_value_rule(mode, seats):
    m = mapper("userpilot", {"mode": mode}, field_mapping=rules(("billing.seats", "metadata.seats")))
    assert m.map({"user_id": "u", "billing": {"seats": 5}}, EMITTED, None) == {
        "user_id": "u",
        "metadata": {"seats": seats},
    }


def test_zaius_bare_name_is_an_attribute():
    m = mapper("zaius", field_mapping=rules(("tier", "loyalty_tier"), ("job", "title")))
    assert m.map({"email": "a@x.io", "tier": 3, "job": "CTO"}, EMITTED, None) == {
        "attributes": {"email": "a@x.io", "loyalty_tier": 3, "title": "CTO"}
    }


def test_native_target_colliding_with_another_field_rejects_the_record():
    m = mapper(field_mapping=rules(("tier", "custom_attributes.plan")))
    with pytest.raises(RecordRejected, match="custom attribute 'plan'"):
        m.map({"user_id": "u", "tier": "a", "plan": "b"}, EMITTED, None)


# ---- configuration errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    "vendor, options, target",
    [
        ("crowdpower", {}, "gender"),
        ("crowdpower", {}, "metadata.plan"),
        ("thrivestack", {}, "created_at"),
        ("thrivestack", {}, "properties.x"),
        ("userpilot", {"mode": "bulk"}, "company_name"),
        ("userpilot", {}, "traits.x"),
        ("zaius", {}, "custom_attributes.plan"),
    ],
)
def test_impossible_target_is_a_config_error_naming_it(vendor, options, target):
    with pytest.raises(ConfigError, match=f"target '{target}' does not exist for"):
        mapper(vendor, options, field_mapping=rules(("a", target)))


@pytest.mark.parametrize(
    "field_mapping, message",
    [
        (rules(("a", "email"), ("b", "email")), "target 'email' is mapped twice"),
        (rules(("", "email")), "non-empty"),
        (rules(("a..b", "email")), "empty part"),
        ([{"source": "a"}], "target must be non-empty"),
        ([{"source": "a", "target": "email", "to": 1}], "unknown key 'to'"),
        ("email", "must be a list"),
        (rules(("a", "custom_attributes.bad key!")), "custom attribute key"),
    ],
)
def test_malformed_mappings(field_mapping, message):
    with pytest.raises(ConfigError, match=message):
        mapper(field_mapping=field_mapping)


def test_zaius_user_id_attribute_as_native_target_points_to_user_id():
    with pytest.raises(ConfigError, match="map to user_id instead"):
        mapper("zaius", field_mapping=rules(("a", "customer_id")))


def test_other_options_are_checked():
    with pytest.raises(ConfigError, match="unmapped_fields must be one of send, drop"):
        mapper(unmapped_fields="keep")
    with pytest.raises(ConfigError, match="exclude_fields must be a list"):
        mapper(exclude_fields="password")
    with pytest.raises(ConfigError, match="also in exclude_fields"):
        mapper(exclude_fields=["mail"], field_mapping=rules(("mail", "email")))
    with pytest.raises(ConfigError, match="dry_run must be true or false"):
        parse_config({"vendor": {"vendor": "zaius", "api_key": "k"}, "dry_run": "yes"})
    parsed = parse_config({"vendor": {"vendor": "zaius", "api_key": "k"}, "dry_run": True, "dry_run_preview_count": 2})
    assert parsed.dry_run and parsed.dry_run_preview_count == 2


# ---- exclude / unmapped --------------------------------------------------------------------


def test_exclude_fields_removes_top_level_and_nested_fields():
    m = mapper(exclude_fields=["password", "internal.id"])
    payload = m.map({"user_id": "u", "password": "s", "internal": {"id": 1, "ok": True}}, EMITTED, None)
    assert payload["custom_attributes"] == {"internal_ok": True}


def test_unmapped_drop_keeps_only_canonical_and_mapped_fields():
    m = mapper(unmapped_fields="drop", field_mapping=rules(("tier", "custom_attributes.plan")))
    data = {"id": "pk", "email": "a@x.io", "tier": "pro", "secret_note": "x", "address": {"city": "B"}}
    assert m.map(data, EMITTED, "id") == {
        "user_id": "pk",
        "email": "a@x.io",
        "custom_attributes": {"plan": "pro"},
        "update_session": False,
    }


def test_unmapped_drop_for_zaius_keeps_nested_canonical_fields():
    m = mapper("zaius", unmapped_fields="drop")
    assert m.map({"user_id": "u", "address": {"city": "Boston", "floor": 3}, "plan": "x"}, EMITTED, None) == {
        "attributes": {"customer_id": "u", "city": "Boston"}
    }


def test_unmapped_drop_keeps_a_field_named_like_a_documented_vendor_field():
    """Userpilot's reserved `email` and `name` are no canonical field of Userpilot, but dropping
    them would lose the two fields its UI shows; Thrivestack's `enrichment_*` traits likewise."""
    userpilot = mapper("userpilot", unmapped_fields="drop")
    payload = userpilot.map({"id": 7, "email": "a@x.io", "name": "Ada", "plan": "pro"}, EMITTED, "id")
    assert payload["metadata"] == {"email": "a@x.io", "name": "Ada"}
    thrivestack = mapper("thrivestack", unmapped_fields="drop")
    data = {"user_id": "u", "enrichment_github_handle": "ada", "enrichment_first_name": "Ada", "plan": "pro"}
    payload = thrivestack.map(data, EMITTED, None)
    assert payload["traits"] == {"enrichment_github_handle": "ada", "enrichment_first_name": "Ada"}
    # Zaius `zip` is its name for postal_code: kept once, as the alias it also is
    zaius = mapper("zaius", unmapped_fields="drop")
    assert zaius.map({"user_id": "u", "zip": "02101"}, EMITTED, None) == {
        "attributes": {"customer_id": "u", "zip": "02101"}
    }
    # a vendor name of a canonical field the record also fills by its own name: the canonical one
    assert thrivestack.map({"user_id": "u", "first_name": "A", "enrichment_first_name": "B"}, EMITTED, None)[
        "traits"
    ] == {"enrichment_first_name": "A"}
    zaius = mapper("zaius", unmapped_fields="drop")
    assert zaius.map({"user_id": "u", "dob_year": 1815, "plan": "x"}, EMITTED, None) == {
        "attributes": {"customer_id": "u", "dob_year": 1815}
    }


def test_unmapped_drop_does_not_keep_a_documented_field_mapped_from_another_column():
    """With `mail` mapped to metadata.email, the record's own `email` column is unmapped: dropped,
    not a collision that rejects the record."""
    m = mapper("userpilot", unmapped_fields="drop", field_mapping=rules(("mail", "metadata.email")))
    payload = m.map({"id": 7, "mail": "b@x.io", "email": "a@x.io"}, EMITTED, "id")
    assert payload["metadata"] == {"email": "b@x.io"}


def test_no_controls_is_the_vendor_mapping_unchanged():
    m = mapper("thrivestack")
    data = {"user_id": "u", "email": "a@x.io", "plan": "pro"}
    assert m.map(data, EMITTED, None) == parse_config(
        {"vendor": {"vendor": "thrivestack", "api_key": "k"}}
    ).vendor.map_record(data, EMITTED, None)


def test_a_zaius_identifier_reached_only_through_field_mapping_identifies_the_record():
    """`vuid` is not canonical: mapped as a native attribute, it must still count as an identifier."""
    zaius = mapper("zaius", {"user_id_attribute": ""}, field_mapping=rules(("device.id", "vuid")))
    payload = zaius.map({"device": {"id": "v-1"}, "plan": "pro"}, 1732262400000, None)
    assert payload == {"attributes": {"vuid": "v-1", "plan": "pro"}}
