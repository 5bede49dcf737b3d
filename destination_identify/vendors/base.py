"""The one protocol every vendor module implements, and the generic HTTP verdicts.

A vendor is data plus pure functions: its limits, its headers, how a record becomes one item of
its identify payload, how items join into a request body, and what an HTTP answer means. The
pipeline and the delivery loop know vendors only through this class.
"""

import difflib
import ipaddress
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping
from urllib.parse import urlsplit

import orjson

from destination_identify.errors import ConfigError
from destination_identify.redact import redact_vendor_text


@dataclass(frozen=True)
class BatchLimits:
    """The most records, and serialized request-body bytes, one request may carry."""

    max_records: int
    max_bytes: int


@dataclass(frozen=True)
class HttpCall:
    method: str
    path: str
    body: bytes | None = None


# What an HTTP answer means for the records it carried.
@dataclass(frozen=True)
class Accepted:
    """Every row was accepted."""


@dataclass(frozen=True)
class RowsRefused:
    """The vendor named the refused rows (index -> message); the others were not accepted either
    and must be re-sent without them."""

    reasons: Mapping[int, str]


@dataclass(frozen=True)
class BatchRefused:
    """The content was refused but the rows at fault are unknown: split the batch to find them."""

    reason: str


@dataclass(frozen=True)
class JobPending:
    """Accepted as an asynchronous job: poll `poll` until it settles."""

    job_id: str
    poll: HttpCall


@dataclass(frozen=True)
class Retry:
    """Not the records' fault and likely to pass later (429, 5xx, timeouts). `busy`: the vendor
    is still doing earlier work (a bulk job, perhaps one whose answer timed out): waited for as
    long as a job may take, not within the retry budget."""

    reason: str
    retry_after: str | None = None
    rate_limited: bool = False
    busy: bool = False


@dataclass(frozen=True)
class Fatal:
    """Retrying cannot help: stop the sync. `failure_type` is Airbyte's (config_error, transient_error)."""

    reason: str
    failure_type: str = "config_error"


Verdict = Accepted | RowsRefused | BatchRefused | JobPending | Retry | Fatal


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str


COMMON_OPTIONS = frozenset({"vendor", "api_key", "base_url"})


def optional_text(options: Mapping[str, Any], key: str, default: str) -> str:
    """An optional text option: absent, null or empty means `default`; any other non-text value
    (an empty list or object included) is a config error, never quietly the default."""
    value = options.get(key)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be text")
    return value


def validate_base_url(url: str, option: str = "base_url") -> str:
    """`https://` only, except loopback hosts (the emulator in tests and demos)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{option} must be an absolute URL such as https://api.example.com")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(f"{option} must use https:// (plain http is allowed only for loopback hosts)")
    if parts.query or parts.fragment:
        raise ConfigError(f"{option} must not carry a query string or fragment")
    if "@" in parts.netloc:  # base_url is not a secret field: nothing would mask them in messages
        raise ConfigError(f"{option} must not carry a user name or password (user:password@host); the key goes in api_key")
    return url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def reject_unknown_options(options: Mapping[str, Any], allowed: frozenset, where: str) -> None:
    for key in options:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ConfigError(f"unknown option '{key}' in {where}{suggestion}; allowed: {', '.join(sorted(allowed))}")


_READ_OF_A_RAW_BODY = 4096  # bytes of a non-JSON body read for its message (shown: 300 characters)


def vendor_message(body: bytes) -> str:
    """The human part of a vendor's error body, redacted; the raw body when it is not JSON."""
    try:
        parsed = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        text = body[:_READ_OF_A_RAW_BODY].decode("utf-8", "replace")
        if len(body) > _READ_OF_A_RAW_BODY:  # redacted before it is cut: a cut email is no email
            last_space = max(text.rfind(space) for space in " \t\r\n")
            text = text[:last_space] if last_space > 0 else text  # no space: only 300 are shown
        return redact_vendor_text(text)
    return redact_vendor_text(_find_message(parsed) or "no message")


def _find_message(parsed: Any) -> str | None:
    if isinstance(parsed, dict):
        for key in ("message", "details", "error", "title"):
            value = parsed.get(key)
            if isinstance(value, str) and value:
                return value
        for key in ("detail", "errors"):
            found = _find_message(parsed.get(key))
            if found:
                return found
    if isinstance(parsed, list) and parsed:
        return _find_message(parsed[0])
    return None


class Vendor:
    """Base of every vendor: settings from the config plus the generic meaning of HTTP answers."""

    name: ClassVar[str]
    title: ClassVar[str]
    default_base_url: ClassVar[str]
    extra_options: ClassVar[frozenset] = frozenset()
    limits: BatchLimits
    body_prefix: bytes = b"["
    body_separator: bytes = b","
    body_suffix: bytes = b"]"
    requests_per_second: float | None = None
    default_concurrency: int = 4
    max_concurrency: int | None = None  # a vendor rule no config may exceed (Userpilot bulk: 1)
    job_poll_interval_seconds: float = 5.0  # for vendors that answer with asynchronous jobs
    # True where a native target is just a custom-data field name (field_mapping places it there).
    native_places_are_fields: ClassVar[bool] = False

    def __init__(self, options: Mapping[str, Any]) -> None:
        reject_unknown_options(options, COMMON_OPTIONS | self.extra_options, f"the {self.title} settings")
        api_key = options.get("api_key")
        if not isinstance(api_key, str) or not api_key.strip():
            raise ConfigError(f"api_key is required for {self.title}")
        self.api_key = api_key.strip()
        if not (self.api_key.isascii() and self.api_key.isprintable()):
            raise ConfigError(
                "api_key contains a character an HTTP header cannot carry (a line break, a control or a "
                "non-ASCII character); copy the key again"
            )
        self.base_url = validate_base_url(optional_text(options, "base_url", self.default_url()))

    def default_url(self) -> str:
        return self.default_base_url

    # ---- what each vendor provides -------------------------------------------------------
    def headers(self) -> dict[str, str]:
        raise NotImplementedError

    def map_record(
        self, data: Mapping[str, Any], emitted_at: int | None, user_id_field: str | None, mapped: Mapping | None = None
    ) -> dict:
        """One record -> one item of the identify payload, or RecordRejected.

        `mapped`: canonical values chosen by the user's field_mapping (see fields.split_record)."""
        raise NotImplementedError

    # ---- field_mapping targets ------------------------------------------------------------
    native_syntax: ClassVar[str] = ""  # how native targets are written, for error messages

    def canonical_targets(self) -> frozenset:
        """The canonical field names this vendor maps (valid field_mapping targets)."""
        raise NotImplementedError

    def native_target(self, target: str) -> Any:
        """A vendor-native field_mapping target -> an opaque place for place_native, or None."""
        return None

    def place_native(self, payload: dict, place: Any, value: Any) -> None:
        """Put a mapped value at a native place, under the vendor's value rules; RecordRejected
        when the value cannot be sent there or another field already landed there."""
        raise NotImplementedError

    # ---- data activation (operations.py builds the `discover` objects from these) ------------
    def own_names(self) -> Mapping[str, str]:
        """The vendor's own names of canonical fields it maps (`zip` -> `postal_code`): offered as
        properties of its objects, each filling its canonical field. Derived from the field table."""
        return {}

    def native_fields(self) -> Mapping[str, tuple[str, str, str]]:
        """Documented vendor fields no canonical field reaches: property -> (field_mapping native
        target, JSON type, description). Each target must be accepted by `native_target`."""
        return {}

    def matching_keys(self) -> tuple[str, ...]:
        """The properties the vendor resolves (finds or creates) a user by, best first."""
        return ("user_id",)

    def batch_call(self, body: bytes) -> HttpCall:
        raise NotImplementedError

    def check_call(self) -> HttpCall:
        raise NotImplementedError

    def read_check(self, status: int, body: bytes) -> CheckResult:
        """Default: 2xx proves the key; 401/403 refuses it."""
        if 200 <= status < 300:
            return CheckResult(True, f"{self.title} accepted the API key")
        return self.generic_check_failure(status, body)

    def read_refusal(self, status: int, body: bytes, batch_size: int) -> Verdict:
        """A 400-class answer about content. Default: rows unknown, so bisect."""
        return BatchRefused(f"{self.title} answered {status}: {vendor_message(body)}")

    def read_accepted(self, status: int, body: bytes) -> Verdict:
        return Accepted()

    def read_poll(self, status: int, body: bytes, job: JobPending) -> Verdict:
        raise NotImplementedError(f"{self.title} has no asynchronous jobs")

    # ---- generic HTTP meaning ---------------------------------------------------------------
    def read_response(self, status: int, body: bytes, headers: Mapping[str, str], batch_size: int) -> Verdict:
        if 200 <= status < 300:
            return self.read_accepted(status, body)
        if status in (401, 403):
            return Fatal(f"{self.title} rejected the API key ({status}): {vendor_message(body)}")
        if status == 404:
            return Fatal(f"{self.title} answered 404 Not Found: check base_url ({self.base_url})")
        if status in (408, 409, 425, 429) or status >= 500:
            return Retry(f"{self.title} answered {status}", headers.get("retry-after"), rate_limited=status == 429)
        if status in (400, 413, 422):
            return self.read_refusal(status, body, batch_size)
        return Fatal(f"{self.title} answered an unexpected {status}: {vendor_message(body)}", "system_error")

    def generic_check_failure(self, status: int, body: bytes) -> CheckResult:
        if status in (401, 403):
            return CheckResult(False, f"{self.title} rejected the API key ({status}); check api_key")
        if status == 404:
            return CheckResult(False, f"{self.title} answered 404 at {self.base_url}; check base_url")
        if status == 429 or status >= 500:
            return CheckResult(False, f"{self.title} is not available right now ({status}); try again later")
        return CheckResult(False, f"{self.title} answered {status}: {vendor_message(body)}")
