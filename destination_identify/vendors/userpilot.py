"""Userpilot: real-time `POST /v1/identify` (one user per request, 600/minute) or bulk
`POST /v1/users/bulk_identify` (up to 10,000 users, answered with a job to poll).

Auth is `Authorization: Token <key>` plus `X-API-Version: 2020-09-22`. The real-time OpenAPI
accepts only string metadata values, so there every value is sent as text; bulk takes primitives
(its page sends numbers), so there numbers and booleans keep their type. Only one bulk job runs
at a time: bulk delivery is never concurrent, and a batch counts as accepted only when its job
has completed.
"""

from typing import Any, Mapping
from urllib.parse import quote

import orjson

from destination_identify.errors import ConfigError, RecordRejected
from destination_identify.fields import splitter_for
from destination_identify.values import NO_USER_ID, flatten, identifier_text, iso_utc, json_scalar, scalar_text
from destination_identify.vendors.base import (
    Accepted,
    BatchLimits,
    Fatal,
    HttpCall,
    JobPending,
    Retry,
    Vendor,
    Verdict,
    optional_text,
)

ENVIRONMENT_HOSTS = {"analytex": "https://analytex.userpilot.io", "analytex-eu": "https://analytex-eu.userpilot.io"}
API_VERSION = "2020-09-22"
MODES = ("bulk", "realtime")
JOB_DONE = "completed"
JOB_FAILED = "failed"
# Documented statuses before a job settles: queued, validating, processing, pending_refresh.

# Userpilot's reserved user fields (vendor-facts) that no canonical field fills for it: data
# activation offers them as properties of the user object, sent as `metadata.<name>`.
RESERVED_METADATA: Mapping[str, str] = {
    "name": "The user's full name (Userpilot's reserved `name` field).",
    "email": "The user's email address (Userpilot's reserved `email` field).",
}
REALTIME_WANTED = frozenset({"user_id", "company_id", "company_name", "created_at"})
BULK_WANTED = frozenset({"user_id", "company_id", "created_at"})


class Userpilot(Vendor):
    name = "userpilot"
    title = "Userpilot"
    default_base_url = ENVIRONMENT_HOSTS["analytex"]
    extra_options = frozenset({"environment", "mode", "job_poll_interval_seconds"})

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.environment = optional_text(options, "environment", "analytex")
        if self.environment not in ENVIRONMENT_HOSTS:
            raise ConfigError(f"environment must be one of {', '.join(ENVIRONMENT_HOSTS)}")
        super().__init__(options)
        self.mode = optional_text(options, "mode", "bulk")
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}")
        interval = options.get("job_poll_interval_seconds")
        if interval is None:
            interval = 5
        if not isinstance(interval, (int, float)) or isinstance(interval, bool) or interval <= 0:
            raise ConfigError("job_poll_interval_seconds must be a positive number")
        self.job_poll_interval_seconds = float(interval)
        if self.mode == "realtime":
            self.limits = BatchLimits(max_records=1, max_bytes=1_000_000)
            self.body_prefix = self.body_suffix = b""
            self.requests_per_second = 9.5  # documented 600/minute per token, with a margin
            self._splitter = splitter_for(REALTIME_WANTED)
            self._metadata_value = scalar_text
        else:
            self.limits = BatchLimits(max_records=10_000, max_bytes=5_000_000)
            self.body_prefix = b'{"users":['
            self.body_suffix = b"]}"
            self.default_concurrency = 1
            self.max_concurrency = 1  # only one bulk job runs at a time
            self._splitter = splitter_for(BULK_WANTED)
            self._metadata_value = json_scalar

    def default_url(self) -> str:
        return ENVIRONMENT_HOSTS[self.environment]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.api_key}", "X-API-Version": API_VERSION}

    def map_record(
        self, data: Mapping[str, Any], emitted_at: int | None, user_id_field: str | None, mapped: Mapping | None = None
    ) -> dict:
        canonical, rest = self._splitter.split(data, user_id_field, mapped)
        if "user_id" not in canonical:
            raise RecordRejected(NO_USER_ID)
        user: dict[str, Any] = {"user_id": identifier_text(canonical["user_id"], "user_id")}
        metadata = flatten(rest, self._metadata_value)
        if "created_at" in canonical:
            _put(metadata, "created_at", iso_utc(canonical["created_at"], "created_at"))
        company_id = canonical.get("company_id")
        if self.mode == "bulk":
            if company_id is not None:
                user["company_id"] = identifier_text(company_id, "company_id")
        elif company_id is not None:
            company = {"company_id": identifier_text(company_id, "company_id")}
            if "company_name" in canonical:
                company["name"] = scalar_text(canonical["company_name"], "company_name")
            user["company"] = company
        elif "company_name" in canonical:  # a company needs an id; keep the name on the user
            _put(metadata, "company_name", scalar_text(canonical["company_name"], "company_name"))
        if metadata:
            user["metadata"] = metadata
        return user

    native_syntax = "metadata.<key>"

    def canonical_targets(self) -> frozenset:
        return self._splitter.wanted

    def native_target(self, target: str) -> Any:
        prefix = "metadata."
        if target.startswith(prefix) and target[len(prefix) :].strip():
            return target[len(prefix) :]
        return None

    def native_fields(self) -> Mapping[str, tuple[str, str, str]]:
        return {name: (f"metadata.{name}", "string", text) for name, text in RESERVED_METADATA.items()}

    def place_native(self, payload: dict, place: Any, value: Any) -> None:
        flat = flatten({place: value}, self._metadata_value)
        if not flat:
            return
        metadata = payload.setdefault("metadata", {})
        for key, text in flat.items():
            _put(metadata, key, text)

    def batch_call(self, body: bytes) -> HttpCall:
        if self.mode == "bulk":
            return HttpCall("POST", "/v1/users/bulk_identify", body)
        return HttpCall("POST", "/v1/identify", body)

    def check_call(self) -> HttpCall:
        return HttpCall("GET", "/v1/validate")

    def read_accepted(self, status: int, body: bytes) -> Verdict:
        if self.mode == "realtime":
            return Accepted()
        job_id = _job_field(body, "job_id")
        if not isinstance(job_id, str) or not job_id:
            return Fatal("Userpilot accepted a bulk request but answered no job_id", "system_error")
        return JobPending(job_id, HttpCall("GET", f"/v1/background_jobs/{quote(job_id, safe='')}"))

    def read_poll(self, status: int, body: bytes, job: JobPending) -> Verdict:
        if status != 200:
            return self.read_response(status, body, {}, 0) if status != 404 else Fatal(
                f"Userpilot does not know bulk job {job.job_id} (404)", "system_error"
            )
        state = _job_field(body, "status")
        if state == JOB_DONE:
            return Accepted()
        if state == JOB_FAILED:
            return Fatal(f"Userpilot bulk job {job.job_id} failed", "transient_error")
        return job

    def read_response(self, status: int, body: bytes, headers: Mapping[str, str], batch_size: int) -> Verdict:
        if status == 409:  # another bulk job is still running: ours whose answer timed out, or a peer's
            return Retry("Userpilot answered 409: a bulk job is already running", headers.get("retry-after"), busy=True)
        return super().read_response(status, body, headers, batch_size)


def _put(metadata: dict[str, Any], key: str, value: str) -> None:
    if key in metadata:
        raise RecordRejected(f"two fields map to metadata.{key}; remove or rename one")
    metadata[key] = value


def _job_field(body: bytes, key: str) -> Any:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return parsed.get(key) if isinstance(parsed, dict) else None
