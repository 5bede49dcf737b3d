"""Thrivestack: `POST /api/identify`, a JSON array of `{user_id, timestamp, traits, context}`.

Follows the vendor-docs page (enrichment_* traits, 1,000 events / 2 MB per request) and supports
both auth styles: the page's `Authorization: Bearer` and the newer docs' `x-api-key`.
"""

from typing import Any, Mapping

import orjson

from destination_identify.compiled_items import CompiledItems, ItemShape, Placement
from destination_identify.errors import ConfigError, RecordRejected
from destination_identify.fields import splitter_for
from destination_identify.values import NO_USER_ID, identifier_text, iso_utc, scalar_text, text_list, type_name
from destination_identify.vendors.base import (
    Accepted,
    BatchLimits,
    BatchRefused,
    CheckResult,
    HttpCall,
    Vendor,
    Verdict,
    optional_text,
    vendor_message,
)

# canonical field -> (part of the event, key inside it, converter)
FIELD_TABLE: Mapping[str, tuple[str, str, Any]] = {
    "user_id": ("", "user_id", identifier_text),
    "email": ("traits", "email", scalar_text),
    "name": ("traits", "enrichment_full_name", scalar_text),
    "first_name": ("traits", "enrichment_first_name", scalar_text),
    "last_name": ("traits", "enrichment_last_name", scalar_text),
    "phone": ("traits", "enrichment_phone", text_list),
    "avatar": ("traits", "enrichment_avatar", scalar_text),
    "title": ("traits", "enrichment_employment_title", scalar_text),
    "company_name": ("traits", "enrichment_employment_name", scalar_text),
    "city": ("traits", "enrichment_city", scalar_text),
    "state": ("traits", "enrichment_state", scalar_text),
    "country": ("traits", "enrichment_country", scalar_text),
    "timezone": ("traits", "enrichment_time_zone", scalar_text),
    "company_id": ("context", "group_id", identifier_text),
    "ip": ("context", "ip", scalar_text),
}
WANTED = frozenset(FIELD_TABLE)
SPLITTER = splitter_for(WANTED)
# Every canonical field but the user id, placed in `traits` or `context`.
PLACEMENTS = {field: Placement(part, key, convert) for field, (part, key, convert) in FIELD_TABLE.items() if part}
# The identify page's documented traits that no canonical field fills (vendor-docs 003); data
# activation offers them as properties of the user object, sent as `traits.<name>` (as text).
NATIVE_TRAITS: Mapping[str, str] = {
    "enrichment_email_provider": "The provider of the user's email service (e.g. Gmail, Outlook, a custom domain).",
    "enrichment_state_code": "The abbreviated code of the user's state or province.",
    "enrichment_location": "A general description of where the user is based (city, state or region).",
    "enrichment_country_code": "The ISO code of the user's country.",
    "enrichment_employment_domain": "The domain of the user's employer, typically its website domain.",
    "enrichment_employment_role": "The user's role within their company (e.g. Developer, Marketing Manager).",
    "enrichment_employment_seniority": "The seniority of the user's role (e.g. Junior, Senior, Executive).",
    "enrichment_employment_sub_role": "A more specific role of the user.",
    "enrichment_facebook_handle": "The user's Facebook profile or page handle.",
    "enrichment_github_handle": "The user's GitHub handle.",
    "enrichment_linkedin_handle": "The user's LinkedIn handle.",
    "enrichment_twitter_handle": "The user's Twitter handle.",
    "enrichment_inactive_at": "The date or timestamp when the user became inactive.",
    "enrichment_active_at": "The date or timestamp when the user became active.",
}


def date_trait(value: Any, field: str) -> str:
    """A documented date trait (a string): a timestamp (epoch, date, ISO-8601) as ISO-8601 UTC;
    other text as it is (the page asks for a string, not a format)."""
    if isinstance(value, str):
        try:
            return iso_utc(value, field)
        except RecordRejected:
            return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RecordRejected(f"{field}: expected a date or timestamp, got {type_name(value)}")
    return iso_utc(value, field)


# A documented key's rule, whoever fills it: a custom field or a field_mapping native target
# named `enrichment_phone` is a list of strings too, and every documented `enrichment_*` trait
# is a string (the page's table), so `enrichment_github_handle: 5` goes as "5".
CONVERT_AT = {(placement.section, placement.key): placement.convert for placement in PLACEMENTS.values()}
CONVERT_AT.update({("traits", name): scalar_text for name in NATIVE_TRAITS})
CONVERT_AT.update({("traits", name): date_trait for name in ("enrichment_active_at", "enrichment_inactive_at")})
_TRAIT_RULES = {key: convert for (part, key), convert in CONVERT_AT.items() if part == "traits"}
AUTH_METHODS = ("bearer", "x-api-key")


class Thrivestack(Vendor):
    name = "thrivestack"
    title = "Thrivestack"
    default_base_url = "https://api.app.thrivestack.ai"
    extra_options = frozenset({"auth_method"})
    limits = BatchLimits(max_records=1000, max_bytes=2_000_000)

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        self.auth_method = optional_text(options, "auth_method", "bearer")
        if self.auth_method not in AUTH_METHODS:
            raise ConfigError(f"auth_method must be one of {', '.join(AUTH_METHODS)}")
        self._last_emitted: tuple[Any, str] = (None, "")
        self._compiled = CompiledItems(
            ItemShape(
                identifier=("user_id", "user_id", identifier_text, NO_USER_ID),
                placements=PLACEMENTS,
                sections=("traits", "context"),
                custom_section="traits",
                tail=(("timestamp", self._timestamp),),
                ruled_custom_keys=frozenset(_TRAIT_RULES),  # the keys map_generally converts
            ),
            general=self.map_generally,
        )
        self.map_record = self._compiled.map_record  # type: ignore[method-assign]

    def headers(self) -> dict[str, str]:
        if self.auth_method == "x-api-key":
            return {"x-api-key": self.api_key}
        return {"Authorization": f"Bearer {self.api_key}"}

    def map_record(
        self, data: Mapping[str, Any], emitted_at: int | None, user_id_field: str | None, mapped: Mapping | None = None
    ) -> dict:
        """Replaced in __init__ by the compiled layouts, which fall back to map_generally."""
        return self._compiled.map_record(data, emitted_at, user_id_field, mapped)

    def map_generally(
        self, data: Mapping[str, Any], emitted_at: int | None, user_id_field: str | None, mapped: Mapping | None = None
    ) -> dict:
        """The definition of a Thrivestack event, which the compiled layouts reproduce."""
        canonical, rest = SPLITTER.split(data, user_id_field, mapped)
        user_id = canonical.pop("user_id", None)
        if user_id is None:
            raise RecordRejected(NO_USER_ID)
        event: dict[str, Any] = {"user_id": identifier_text(user_id, "user_id")}
        traits: dict[str, Any] = {}
        context: dict[str, Any] = {}
        parts = {"traits": traits, "context": context}
        for field, value in canonical.items():
            placement = PLACEMENTS[field]
            parts[placement.section][placement.key] = placement.convert(value, field)
        if rest:
            if not traits.keys().isdisjoint(rest):
                taken = next(key for key in rest if key in traits)
                raise RecordRejected(f"two fields map to traits.{taken}; remove or rename one")
            if not _TRAIT_RULES.keys().isdisjoint(rest):
                rest = {
                    key: _TRAIT_RULES[key](value, f"traits.{key}") if key in _TRAIT_RULES else value
                    for key, value in rest.items()
                }
            traits.update(rest)
        if traits:
            event["traits"] = traits
        if context:
            event["context"] = context
        event["timestamp"] = self._timestamp(emitted_at)
        return event

    native_syntax = "traits.<name> or context.<name>"

    def canonical_targets(self) -> frozenset:
        return WANTED

    def native_target(self, target: str) -> Any:
        part, dot, key = target.partition(".")
        if dot and part in ("traits", "context") and key.strip():
            return (part, key)
        return None

    def own_names(self) -> Mapping[str, str]:
        return {placement.key: field for field, placement in PLACEMENTS.items() if placement.key != field}

    def native_fields(self) -> Mapping[str, tuple[str, str, str]]:
        return {name: (f"traits.{name}", "string", text) for name, text in NATIVE_TRAITS.items()}

    def place_native(self, payload: dict, place: Any, value: Any) -> None:
        part, key = place
        convert = CONVERT_AT.get(place)
        if convert is not None:
            value = convert(value, f"{part}.{key}")
        section = payload.setdefault(part, {})
        if key in section:
            raise RecordRejected(f"two fields map to {part}.{key}; remove or rename one")
        section[key] = value  # other keys: Thrivestack takes JSON as it is

    def _timestamp(self, emitted_at: Any) -> str:
        """Records of one read share emitted_at values; remember the last conversion. Epoch
        milliseconds per the protocol, though PyAirbyte's cache sends seconds: iso_utc reads
        small numbers as seconds, and rejects a number out of range rather than failing."""
        if not isinstance(emitted_at, (int, float)) or isinstance(emitted_at, bool):
            raise RecordRejected("record has no emitted_at timestamp")
        last_value, last_text = self._last_emitted
        if emitted_at == last_value:
            return last_text
        text = iso_utc(emitted_at, "emitted_at")
        self._last_emitted = (emitted_at, text)
        return text

    def batch_call(self, body: bytes) -> HttpCall:
        return HttpCall("POST", "/api/identify", body)

    def read_accepted(self, status: int, body: bytes) -> Verdict:
        """A 200 whose body says `"success": false` identified nobody (the response's `success`:
        "Indicates if user was successfully identified"): refused, so the batch is split and a
        row that still fails alone is rejected with the vendor's message, never counted delivered."""
        try:
            answer = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            return Accepted()
        if isinstance(answer, dict) and answer.get("success") is False:
            return BatchRefused(f"Thrivestack answered {status} with success false: {vendor_message(body)}")
        return Accepted()

    def check_call(self) -> HttpCall:
        """An empty array: authenticated but identifies nobody (answered 200 or 400, never 401)."""
        return HttpCall("POST", "/api/identify", b"[]")

    def read_check(self, status: int, body: bytes) -> CheckResult:
        if 200 <= status < 300 or status == 400:
            return CheckResult(True, "Thrivestack accepted the API key")
        return self.generic_check_failure(status, body)
