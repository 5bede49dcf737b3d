"""A local HTTP emulator of the four vendor APIs destination-identify writes to.

Why it exists: the connector's integration tests and the README demo need real HTTP round
trips (connection reuse, timeouts, retries, partial failures) without real vendor accounts.
One server on 127.0.0.1 answers for all four vendors at once, because their paths do not
collide:

    Thrivestack  POST /api/identify                      (JSON array, 1,000 events / 2 MB)
    CrowdPower   POST /customers, POST /customers/bulk   (all-or-nothing batches)
    Zaius / ODP  POST /v3/profiles, GET /v3/profiles     (202, per-row `detail.invalids`)
    Userpilot    GET /v1/validate, POST /v1/identify,
                 POST /v1/users/bulk_identify, GET /v1/background_jobs/{job_id}

What it is faithful to: the pages in `shared/vendor-docs/` and `shared/vendor-facts.md`:
each vendor's auth header (`Bearer`, `x-api-key`, `Token`), Zaius public/private keys,
success codes (200, 202), error status codes and body shapes, documented size limits, rate
limits (Zaius 10 requests/second, Userpilot 600/minute, no Retry-After), Userpilot's
asynchronous bulk jobs with only one job running at a time, and which values each vendor
accepts (scalars only, where the vendor says so; for Zaius, optionally, only the fields an
account's schema has). Where the documents leave something open
(CrowdPower batch limits, for instance) the limit is a constructor argument.

For tests it adds: "poison" user ids the vendor refuses, scripted faults (status codes with
headers, dropped connections, delays, failing bulk jobs), a record of what each vendor
accepted, counters, and a small control API under `/__emulator__/` for use from another
process. It never logs API keys or request bodies.

Run standalone:
    python -m integration_tests.emulator --port 8765 --api-key KEY [--lean]
"""

from __future__ import annotations

import argparse
import collections
import functools
import hmac
import json
import re
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson

VENDORS = ("thrivestack", "crowdpower", "zaius", "userpilot")
CONTROL_PREFIX = "/__emulator__/"

THRIVESTACK_MAX_EVENTS = 1_000
THRIVESTACK_MAX_BYTES = 2_000_000
ZAIUS_MAX_OBJECTS = 500
# ODP's default profile fields (vendor-facts); any other field must exist in the account's schema.
ZAIUS_DEFAULT_FIELDS = frozenset({
    "first_name", "last_name", "gender", "timezone", "image_url", "phone", "street1", "street2", "city", "state",
    "zip", "country", "dob_day", "dob_month", "dob_year", "email", "vuid", "zaius_id",
})
USERPILOT_MAX_BULK_USERS = 10_000
USERPILOT_API_VERSION = "2020-09-22"

BULK_IDENTIFY_PATH = "/v1/users/bulk_identify"
JOB_PATH_PREFIX = "/v1/background_jobs/"
JOB_ROUTE = "GET /v1/background_jobs/{job_id}"

CROWDPOWER_STRING_FIELDS = ("name", "first_name", "last_name", "email", "phone", "ip", "user_id")
CROWDPOWER_FIELDS = frozenset(CROWDPOWER_STRING_FIELDS + ("signed_up_at", "custom_attributes", "update_session"))
CROWDPOWER_ATTRIBUTE_KEY = re.compile(r"[A-Za-z0-9_-]{1,50}")

FAULT_KINDS = ("status", "drop", "delay", "late", "job_fails")
LOG_LIMIT = 100_000  # entries kept by requests_log(); older ones are discarded


# --------------------------------------------------------------------------- small helpers


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _same_secret(given: Optional[str], expected: str) -> bool:
    """Constant-time comparison that tolerates a missing or non-ASCII header."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def _strip_scheme(header: Optional[str], scheme: str) -> Optional[str]:
    """`Bearer abc` -> `abc` for scheme `Bearer` (case-insensitive scheme); else None."""
    if not header:
        return None
    prefix, _, value = header.partition(" ")
    return value.strip() if prefix.lower() == scheme.lower() else None


def _is_scalar(value: Any) -> bool:
    """str, int, float or bool (bool is an int in Python, so it passes)."""
    return isinstance(value, (str, int, float))


def _is_nonempty_string(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _is_iso8601(value: Any) -> bool:
    return isinstance(value, str) and _is_iso8601_text(value)


@functools.lru_cache(maxsize=4096)  # a batch's events mostly share their timestamps
def _is_iso8601_text(value: str) -> bool:
    if not value:
        return False
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_iso8601_utc(value: Any) -> bool:
    """Thrivestack's `timestamp`: "The event timestamp in UTC using the ISO 8601 format"."""
    return _is_iso8601(value) and "T" in value and value.endswith(("Z", "z", "+00:00"))


def _parse_json(body: bytes) -> tuple[bool, Any]:
    """Strict JSON (no NaN or Infinity), parsed by orjson so the sink outpaces the client."""
    try:
        return True, orjson.loads(body)
    except orjson.JSONDecodeError:
        return False, None


class _SlidingWindow:
    """At most `limit` hits in any `seconds`-long window; rejected hits are not counted."""

    def __init__(self, limit: int, seconds: float):
        self.limit = limit
        self.seconds = seconds
        self.hits: collections.deque[float] = collections.deque()

    def allow(self, now: float) -> bool:
        while self.hits and now - self.hits[0] >= self.seconds:
            self.hits.popleft()
        if len(self.hits) >= self.limit:
            return False
        self.hits.append(now)
        return True


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Any  # email.message.Message: case-insensitive .get()
    body: bytes


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    items: Optional[int] = None  # objects in the request, once parsed (for stats)
    auth_failed: bool = False


@dataclass
class _Job:
    """A Userpilot bulk_identify job; it advances one step per poll, and with
    `userpilot_job_seconds` set, finishes by itself that long after it was created (as the real
    service works through its rows whether anyone polls or not)."""

    job_id: str
    total_rows: int
    file_size: int
    start_time: str
    fails: bool
    users: Optional[list]  # dropped once the job has finished
    polls: int = 0
    status: str = "queued"
    end_time: Optional[str] = None
    created: float = field(default_factory=time.monotonic)

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed")

    def as_json(self) -> dict:
        return {
            "job_id": self.job_id,
            "status": self.status,
            "type": "bulk_identify",
            "total_rows": self.total_rows,
            "file_size": self.file_size,
            "filename": f"bulk_identify_{self.total_rows}.json",
            "start_time": self.start_time,
            "end_time": self.end_time,
            "links": "",
        }


# --------------------------------------------------------------------------- the emulator


class VendorEmulator:
    """An HTTP server on 127.0.0.1 answering as Thrivestack, CrowdPower, Zaius and Userpilot.

    `api_key` is the one key every vendor accepts. For Zaius, a key `<public>.<secret>` is
    the private key and `<public>` its public key (write-only). With `store_bodies=False`
    only counts are kept (for volume tests); validation is unchanged.
    """

    def __init__(
        self,
        api_key: str = "test-key",
        *,
        port: int = 0,
        store_bodies: bool = True,
        userpilot_job_polls: int = 2,
        userpilot_job_seconds: Optional[float] = None,
        zaius_identifiers: tuple[str, ...] = ("email", "phone", "vuid", "zaius_id", "customer_id"),
        userpilot_rate_per_minute: int = 600,
        zaius_rate_per_second: int = 10,
        crowdpower_max_customers: int = 500,
        crowdpower_max_bytes: int = 1_000_000,
        zaius_custom_fields: Optional[frozenset[str]] = None,
    ):
        self.api_key = api_key
        self.zaius_public_key = api_key.rsplit(".", 1)[0] if "." in api_key else api_key
        self.port = port
        self.store_bodies = store_bodies
        self.userpilot_job_polls = max(1, int(userpilot_job_polls))
        self.userpilot_job_seconds = userpilot_job_seconds
        self.zaius_identifiers = tuple(zaius_identifiers)
        self.userpilot_rate_per_minute = userpilot_rate_per_minute
        self.zaius_rate_per_second = zaius_rate_per_second
        self.crowdpower_max_customers = crowdpower_max_customers
        self.crowdpower_max_bytes = crowdpower_max_bytes
        # None: every field exists (most tests send custom data freely); a set: the account's
        # custom fields, and a profile with any other field is refused (its row named).
        self.zaius_custom_fields = None if zaius_custom_fields is None else frozenset(zaius_custom_fields)
        self.poison_user_ids: set[str] = set()

        self._lock = threading.Lock()
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._connections: set[socket.socket] = set()
        self._reset_state()

    def __repr__(self) -> str:  # never show the key
        return f"VendorEmulator(url={self.url if self._server else None!r})"

    # ---- lifecycle

    def start(self) -> "VendorEmulator":
        """Bind 127.0.0.1:port (0 = a free port) and serve in a daemon thread."""
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.emulator = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="vendor-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open (keep-alive) connection."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "VendorEmulator":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("emulator is not running; call start() first")
        return f"http://127.0.0.1:{self.port}"

    # ---- test-facing API

    def inject(self, faults: Any, path: Optional[str] = None) -> None:
        """Queue faults (a dict or a list of dicts), served one per matching request, FIFO.

        `path=None` matches every vendor route, otherwise requests whose path starts with
        `path`. Fault kinds: `{"status": 503, "headers": {...}, "body": {...}}` answers
        instead of the vendor; `{"drop": True}` reads the request and closes the socket
        without answering; `{"delay": 2.5}` sleeps, then answers normally; `{"late": 2.5}` does
        the work at once and holds the answer (a vendor that acted but answered too late);
        `{"job_fails": True}` makes the Userpilot bulk job created by the request fail
        (it only matches POST /v1/users/bulk_identify).
        """
        if isinstance(faults, dict):
            faults = [faults]
        checked = [_check_fault(f) for f in faults]
        if path is not None and not isinstance(path, str):
            raise ValueError("path must be a string or None")
        with self._lock:
            self._faults.extend((path, f) for f in checked)

    def accepted(self, vendor: str, mode: Optional[str] = None) -> list:
        """Items the vendor accepted, in order, exactly as received.

        Userpilot: realtime bodies and bulk users (counted only once their job completed);
        `mode="realtime"` or `mode="bulk"` selects one kind.
        """
        if vendor not in VENDORS:
            raise ValueError(f"unknown vendor {vendor!r}; expected one of {VENDORS}")
        if mode not in (None, "realtime", "bulk"):
            raise ValueError("mode must be None, 'realtime' or 'bulk'")
        if not self.store_bodies:
            raise RuntimeError("store_bodies=False keeps counts only: use stats()['accepted_count']")
        with self._lock:
            return [item for item_mode, item in self._accepted[vendor] if mode in (None, item_mode)]

    def stats(self) -> dict:
        """Counters: requests, by_route, by_status, accepted_count, maxima, faults, ..."""
        with self._lock:
            return json.loads(json.dumps(self._stats))

    def requests_log(self) -> list[dict]:
        """One small dict per request: method, path (no query), status, items, bytes, ts."""
        with self._lock:
            return [dict(entry) for entry in self._log]

    def reset(self) -> None:
        """Forget accepted items, counters, log, faults, poison ids, jobs, profiles, rates."""
        with self._lock:
            self._reset_state()
        self.poison_user_ids = set()

    # ---- state (callers hold self._lock unless noted)

    def _reset_state(self) -> None:
        self._accepted: dict[str, list[tuple[Optional[str], Any]]] = {v: [] for v in VENDORS}
        self._faults: collections.deque[tuple[Optional[str], dict]] = collections.deque()
        self._jobs: dict[str, _Job] = {}
        self._zaius_profiles: dict[tuple[str, str], dict] = {}
        self._rate_windows: dict[tuple[str, str], _SlidingWindow] = {}
        self._log: collections.deque[dict] = collections.deque(maxlen=LOG_LIMIT)
        self._stats = {
            "requests": 0,
            "by_route": {},
            "by_status": {},
            "accepted_count": {v: 0 for v in VENDORS},
            "userpilot_accepted_by_mode": {"realtime": 0, "bulk": 0},
            "max_items_per_request": {},
            "max_body_bytes": {},
            "faults_served": 0,
            "userpilot_overlapping_jobs": 0,
            "missing_api_version": 0,
            "auth_failures": 0,
        }

    def _take_fault(self, req: Request) -> Optional[dict]:
        """Pop the first queued fault that matches this request (lock taken here)."""
        with self._lock:
            for index, (path, fault) in enumerate(self._faults):
                if path is not None and not req.path.startswith(path):
                    continue
                if "job_fails" in fault and (req.method, req.path) != ("POST", BULK_IDENTIFY_PATH):
                    continue
                del self._faults[index]
                self._stats["faults_served"] += 1
                return fault
        return None

    def _record(self, req: Request, route: str, status: Any, items: Optional[int], auth_failed: bool) -> None:
        """Count one request (lock taken here). `status` is an int or "dropped"."""
        size = len(req.body)
        with self._lock:
            stats = self._stats
            stats["requests"] += 1
            stats["by_route"][route] = stats["by_route"].get(route, 0) + 1
            stats["by_status"][str(status)] = stats["by_status"].get(str(status), 0) + 1
            stats["max_body_bytes"][route] = max(stats["max_body_bytes"].get(route, 0), size)
            if items is not None:
                stats["max_items_per_request"][route] = max(stats["max_items_per_request"].get(route, 0), items)
            if auth_failed:
                stats["auth_failures"] += 1
            self._log.append(
                {"method": req.method, "path": req.path, "status": status, "items": items, "bytes": size, "ts": time.time()}
            )

    def _accept(self, vendor: str, items: list, mode: Optional[str] = None) -> None:
        """Record accepted items (caller holds the lock); bodies only if store_bodies."""
        self._stats["accepted_count"][vendor] += len(items)
        if vendor == "userpilot":
            self._stats["userpilot_accepted_by_mode"][mode] += len(items)
        if self.store_bodies:
            self._accepted[vendor].extend((mode, item) for item in items)

    def _rate_allows(self, vendor: str, key: str, limit: Optional[int], seconds: float) -> bool:
        if not limit or limit <= 0:
            return True
        window = self._rate_windows.get((vendor, key))
        if window is None:
            window = self._rate_windows[(vendor, key)] = _SlidingWindow(limit, seconds)
        return window.allow(time.monotonic())

    def _is_poisoned(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.poison_user_ids

    def _zaius_store(self, attributes: dict) -> None:
        """Merge accepted attributes into the profile found by any of its identifiers."""
        if not self.store_bodies:
            return
        keys = [(name, str(attributes[name])) for name in self.zaius_identifiers if attributes.get(name) not in (None, "")]
        profile = next((self._zaius_profiles[k] for k in keys if k in self._zaius_profiles), None)
        if profile is None:
            profile = {}
        for name, value in attributes.items():
            if value is None:
                profile.pop(name, None)  # an explicit null clears the value
            else:
                profile[name] = value
        for key in keys:
            self._zaius_profiles[key] = profile


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    emulator: VendorEmulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up is normal here; anything else gets the default traceback."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def _check_fault(fault: Any) -> dict:
    if not isinstance(fault, dict) or sum(kind in fault for kind in FAULT_KINDS) != 1:
        raise ValueError(f"a fault is a dict with exactly one of {FAULT_KINDS}")
    if "status" in fault and not (isinstance(fault["status"], int) and 100 <= fault["status"] <= 599):
        raise ValueError("fault status must be an HTTP status code")
    for kind in ("delay", "late"):
        if kind in fault and not (isinstance(fault[kind], (int, float)) and fault[kind] >= 0):
            raise ValueError(f"fault {kind} must be a number of seconds")
    if not isinstance(fault.get("headers", {}), dict):
        raise ValueError("fault headers must be an object")
    return dict(fault)


# --------------------------------------------------------------------------- Thrivestack


def _thrivestack_error(message: str, status: int = 400, **extra) -> Response:
    return Response(status, {"success": False, "message": message}, **extra)


def _validate_thrivestack_event(index: int, event: Any) -> Optional[str]:
    where = f"events[{index}]"
    if not isinstance(event, dict):
        return f"{where}: must be an object"
    if not _is_nonempty_string(event.get("user_id")):
        return f"{where}.user_id: required, a non-empty string"
    if not _is_iso8601_utc(event.get("timestamp")):
        return f"{where}.timestamp: required, an ISO-8601 date-time in UTC"
    for name in ("traits", "context"):
        if name in event and not isinstance(event[name], dict):
            return f"{where}.{name}: must be an object"
    traits = event.get("traits", {})
    phones = traits.get("enrichment_phone", [])
    if not (isinstance(phones, list) and all(isinstance(p, str) for p in phones)):
        return f"{where}.traits.enrichment_phone: must be an array of strings"
    for name, value in traits.items():  # the page's table types every other enrichment_* trait as string
        if name.startswith("enrichment_") and name != "enrichment_phone" and not isinstance(value, str):
            return f"{where}.traits.{name}: must be a string"
    return None


def thrivestack_identify(emu: VendorEmulator, req: Request) -> Response:
    bearer = _strip_scheme(req.headers.get("Authorization"), "Bearer")
    if not (_same_secret(bearer, emu.api_key) or _same_secret(req.headers.get("x-api-key"), emu.api_key)):
        return _thrivestack_error("Access token missing or invalid", 401, auth_failed=True)
    if len(req.body) > THRIVESTACK_MAX_BYTES:
        return _thrivestack_error(f"request body exceeds {THRIVESTACK_MAX_BYTES} bytes ({len(req.body)} bytes)")
    ok, events = _parse_json(req.body)
    if not ok or not isinstance(events, list):
        return _thrivestack_error("request body must be a JSON array of identify events")
    if len(events) > THRIVESTACK_MAX_EVENTS:
        return _thrivestack_error(
            f"too many identify events: {len(events)} (at most {THRIVESTACK_MAX_EVENTS} per request)", items=len(events)
        )
    if not events:
        return _thrivestack_error("no identify events in request", items=0)
    for index, event in enumerate(events):
        problem = _validate_thrivestack_event(index, event)
        if problem is None and emu._is_poisoned(event["user_id"]):
            problem = f"events[{index}].user_id: rejected by the vendor"
        if problem:
            return _thrivestack_error(problem, items=len(events))
    with emu._lock:
        emu._accept("thrivestack", events)
    body = {"success": True, "response_id": str(uuid.uuid4()), "message": "User(s) identified successfully"}
    return Response(200, body, items=len(events))


# --------------------------------------------------------------------------- CrowdPower


def _crowdpower_error(status: int, message: str, **extra) -> Response:
    return Response(status, {"success": False, "code": status, "data": None, "message": message}, **extra)


def _validate_crowdpower_customer(emu: VendorEmulator, where: str, customer: Any) -> Optional[str]:
    """First problem with one customer object, as `<where>field: reason`, or None."""
    if not isinstance(customer, dict):
        return f"{where.rstrip('.') or 'body'}: must be an object"
    for name in customer:
        if name not in CROWDPOWER_FIELDS:
            return f"{where}{name}: unknown field"
    if not (_is_nonempty_string(customer.get("user_id")) or _is_nonempty_string(customer.get("email"))):
        return f"{where}user_id: required when email is not present"
    for name in CROWDPOWER_STRING_FIELDS:
        if name in customer and not isinstance(customer[name], str):
            return f"{where}{name}: must be a string"
    signed_up_at = customer.get("signed_up_at")
    if "signed_up_at" in customer and (not isinstance(signed_up_at, int) or isinstance(signed_up_at, bool)):
        return f"{where}signed_up_at: must be an integer (UNIX seconds)"
    if "update_session" in customer and not isinstance(customer["update_session"], bool):
        return f"{where}update_session: must be a boolean"
    if "custom_attributes" in customer:
        problem = _validate_custom_attributes(customer["custom_attributes"])
        if problem:
            return f"{where}custom_attributes{problem}"
    if emu._is_poisoned(customer.get("user_id")):
        return f"{where}user_id: rejected by the vendor"
    return None


def _validate_custom_attributes(attributes: Any) -> Optional[str]:
    if not isinstance(attributes, dict):
        return ": must be an object"
    for index, (key, value) in enumerate(attributes.items()):
        if not CROWDPOWER_ATTRIBUTE_KEY.fullmatch(key):
            return f" (key #{index}): keys must be 1-50 letters, digits, '-' or '_'"
        if not _is_scalar(value):
            return f".{key}: must be a string, number or boolean"
        if key.endswith("_at") and not (isinstance(value, int) and not isinstance(value, bool)):
            return f".{key}: a key ending in _at is a date, which must be UNIX seconds"  # vendor-facts
    return None


def _crowdpower_auth_fails(emu: VendorEmulator, req: Request) -> Optional[Response]:
    if _same_secret(_strip_scheme(req.headers.get("Authorization"), "Bearer"), emu.api_key):
        return None
    return _crowdpower_error(401, "Unauthenticated.", auth_failed=True)


def _crowdpower_accept(emu: VendorEmulator, customers: list, prefix: Callable[[int], str]) -> Response:
    count = len(customers)
    if count > emu.crowdpower_max_customers:
        return _crowdpower_error(413, f"too many customers: {count} (at most {emu.crowdpower_max_customers})", items=count)
    for index, customer in enumerate(customers):
        problem = _validate_crowdpower_customer(emu, prefix(index), customer)
        if problem:
            return _crowdpower_error(400, problem, items=count)
    with emu._lock:
        emu._accept("crowdpower", customers)
    return Response(200, {"success": True, "code": 200, "data": None}, items=count)


def _crowdpower_body(emu: VendorEmulator, req: Request) -> tuple[Optional[Response], Any]:
    refused = _crowdpower_auth_fails(emu, req)
    if refused:
        return refused, None
    if len(req.body) > emu.crowdpower_max_bytes:
        return _crowdpower_error(413, f"request body exceeds {emu.crowdpower_max_bytes} bytes"), None
    ok, payload = _parse_json(req.body)
    if not ok:
        return _crowdpower_error(400, "request body must be JSON"), None
    return None, payload


def crowdpower_customer(emu: VendorEmulator, req: Request) -> Response:
    refused, customer = _crowdpower_body(emu, req)
    return refused or _crowdpower_accept(emu, [customer], lambda _index: "")


def crowdpower_bulk(emu: VendorEmulator, req: Request) -> Response:
    refused, payload = _crowdpower_body(emu, req)
    if refused:
        return refused
    if not isinstance(payload, dict) or not isinstance(payload.get("customers"), list):
        return _crowdpower_error(400, "customers: required, an array of customer objects")
    return _crowdpower_accept(emu, payload["customers"], lambda index: f"customers[{index}].")


# --------------------------------------------------------------------------- Zaius / ODP


def _zaius_body(status: int, title: str, **detail) -> dict:
    body = {"title": title, "status": status, "timestamp": _now_iso()}
    if detail:
        body["detail"] = detail
    return body


def _zaius_forbidden() -> Response:
    return Response(403, {"message": "Forbidden"}, auth_failed=True)


def _zaius_key_role(emu: VendorEmulator, key: Optional[str]) -> Optional[str]:
    """"private", "public" (write-only) or None for an unknown key."""
    if _same_secret(key, emu.api_key):
        return "private"
    if _same_secret(key, emu.zaius_public_key):
        return "public"
    return None


def _zaius_rate_limited(emu: VendorEmulator) -> Optional[Response]:
    with emu._lock:  # per account: public and private keys share one budget
        allowed = emu._rate_allows("zaius", emu.zaius_public_key, emu.zaius_rate_per_second, 1.0)
    return None if allowed else Response(429, _zaius_body(429, "Too Many Requests"))


def _zaius_item_problem(emu: VendorEmulator, item: Any) -> Optional[str]:
    if not isinstance(item, dict) or not isinstance(item.get("attributes"), dict):
        return "`attributes` is required and must be an object"
    attributes = item["attributes"]
    if not any(attributes.get(name) not in (None, "") for name in emu.zaius_identifiers):
        return f"At least one identifier is required ({', '.join(emu.zaius_identifiers)})"
    for name, value in attributes.items():
        if value is not None and not _is_scalar(value):
            return f"Field `{name}` must be a string, number or boolean"
    if emu.zaius_custom_fields is not None:
        known = ZAIUS_DEFAULT_FIELDS | emu.zaius_custom_fields | set(emu.zaius_identifiers)
        unknown = sorted(name for name in attributes if name not in known)
        if unknown:
            return f"Field `{unknown[0]}` does not exist in the account's schema"
    if any(emu._is_poisoned(value) for value in attributes.values()):
        return "Profile rejected by the vendor"
    return None


def zaius_post_profiles(emu: VendorEmulator, req: Request) -> Response:
    if _zaius_key_role(emu, req.headers.get("x-api-key")) is None:
        return _zaius_forbidden()
    limited = _zaius_rate_limited(emu)
    if limited:
        return limited
    ok, payload = _parse_json(req.body)
    items = [payload] if isinstance(payload, dict) else payload
    if not ok or not isinstance(items, list):
        return Response(400, _zaius_body(400, "Bad Request", message="Body must be an object or an array of objects"))
    if len(items) > ZAIUS_MAX_OBJECTS:
        message = f"Too many objects: {len(items)} (at most {ZAIUS_MAX_OBJECTS} per request)"
        return Response(400, _zaius_body(400, "Bad Request", message=message), items=len(items))
    if not items:
        return Response(400, _zaius_body(400, "Bad Request", message="No profiles in request"), items=0)
    invalids = []
    for index, item in enumerate(items):
        problem = _zaius_item_problem(emu, item)
        if problem:
            invalids.append({"event": index, "message": problem})
    if invalids:
        return Response(400, _zaius_body(400, "Bad Request", invalids=invalids), items=len(items))
    with emu._lock:
        emu._accept("zaius", items)
        for item in items:
            emu._zaius_store(item["attributes"])
    return Response(202, _zaius_body(202, "Accepted"), items=len(items))


def zaius_get_profile(emu: VendorEmulator, req: Request) -> Response:
    role = _zaius_key_role(emu, req.headers.get("x-api-key"))
    if role != "private":
        return _zaius_forbidden()
    limited = _zaius_rate_limited(emu)
    if limited:
        return limited
    if len(req.query) != 1 or next(iter(req.query)) not in emu.zaius_identifiers:
        message = f"Exactly one identifier query parameter is required ({', '.join(emu.zaius_identifiers)})"
        return Response(400, _zaius_body(400, "Bad Request", message=message))
    (name, value), = req.query.items()
    with emu._lock:
        profile = emu._zaius_profiles.get((name, value))
        profile = dict(profile) if profile is not None else None
    if profile is None:
        message = f"Unable to find profile for {name} = {value}"
        return Response(404, _zaius_body(404, "Not Found", message=message))
    return Response(200, {"attributes": profile}, items=1)


# --------------------------------------------------------------------------- Userpilot


def _userpilot_error(status: int, error: str, error_code: str, details: str, **extra) -> Response:
    body = {"errors": [{"details": details, "error": error, "error_code": error_code, "message": error}]}
    return Response(status, body, **extra)


def _userpilot_invalid(details: str, **extra) -> Response:
    return _userpilot_error(400, "Bad Request", "invalid_payload", details, **extra)


def _userpilot_auth_fails(emu: VendorEmulator, req: Request) -> Optional[Response]:
    """Checks `Authorization: Token <key>` and counts a missing X-API-Version header."""
    if req.headers.get("X-API-Version") != USERPILOT_API_VERSION:
        with emu._lock:
            emu._stats["missing_api_version"] += 1
    if _same_secret(_strip_scheme(req.headers.get("Authorization"), "Token"), emu.api_key):
        return None
    return _userpilot_error(401, "Unauthorized", "unauthorized", "Invalid API key", auth_failed=True)


def _string_map_problem(where: str, values: Any, allowed: tuple[type, ...]) -> Optional[str]:
    if not isinstance(values, dict):
        return f"{where}: must be an object"
    for name, value in values.items():
        if not isinstance(value, allowed):
            kinds = "a string" if allowed == (str,) else "a string, number or boolean"
            return f"{where}.{name}: must be {kinds}"
    return None


def _userpilot_identify_problem(emu: VendorEmulator, body: Any) -> Optional[str]:
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    if not _is_nonempty_string(body.get("user_id")):
        return "user_id: required, a non-empty string"
    if "metadata" in body:
        problem = _string_map_problem("metadata", body["metadata"], (str,))
        if problem:
            return problem
    if "company" in body:
        company = body["company"]
        if not isinstance(company, dict) or not _is_nonempty_string(company.get("company_id")):
            return "company.company_id: required when company is present, a non-empty string"
        problem = _string_map_problem("company", company, (str,))
        if problem:
            return problem
    if emu._is_poisoned(body["user_id"]):
        return "user_id: rejected by the vendor"
    return None


def _userpilot_bulk_user_problem(emu: VendorEmulator, index: int, user: Any) -> Optional[str]:
    where = f"users[{index}]"
    if not isinstance(user, dict):
        return f"{where}: must be an object"
    if not _is_nonempty_string(user.get("user_id")):
        return f"{where}.user_id: required, a non-empty string"
    if "company_id" in user and not isinstance(user["company_id"], str):
        return f"{where}.company_id: must be a string"
    if "metadata" in user:
        problem = _string_map_problem(f"{where}.metadata", user["metadata"], (str, int, float))
        if problem:
            return problem
    if emu._is_poisoned(user["user_id"]):
        return f"{where}.user_id: rejected by the vendor"
    return None


def userpilot_validate(emu: VendorEmulator, req: Request) -> Response:
    return _userpilot_auth_fails(emu, req) or Response(200, {"status": "valid"})


def userpilot_identify(emu: VendorEmulator, req: Request) -> Response:
    refused = _userpilot_auth_fails(emu, req)
    if refused:
        return refused
    with emu._lock:
        allowed = emu._rate_allows("userpilot", emu.api_key, emu.userpilot_rate_per_minute, 60.0)
    if not allowed:
        details = f"Rate limit of {emu.userpilot_rate_per_minute} requests per minute exceeded"
        return _userpilot_error(429, "Too Many Requests", "rate_limited", details)
    ok, body = _parse_json(req.body)
    problem = "request body must be JSON" if not ok else _userpilot_identify_problem(emu, body)
    if problem:
        return _userpilot_invalid(problem, items=1)
    with emu._lock:
        emu._accept("userpilot", [body], "realtime")
    return Response(202, {"status": "accepted"}, items=1)


def userpilot_bulk_identify(emu: VendorEmulator, req: Request, fault: Optional[dict] = None) -> Response:
    refused = _userpilot_auth_fails(emu, req)
    if refused:
        return refused
    ok, body = _parse_json(req.body)
    if not ok or not isinstance(body, dict) or not isinstance(body.get("users"), list):
        return _userpilot_invalid("users: required, an array of user objects")
    users = body["users"]
    if len(users) > USERPILOT_MAX_BULK_USERS:
        details = f"users: {len(users)} users (at most {USERPILOT_MAX_BULK_USERS} per request)"
        return _userpilot_invalid(details, items=len(users))
    if not users:
        return _userpilot_invalid("users: must not be empty", items=0)
    for index, user in enumerate(users):
        problem = _userpilot_bulk_user_problem(emu, index, user)
        if problem:
            return _userpilot_invalid(problem, items=len(users))
    with emu._lock:
        _finish_jobs_past_their_time(emu)
        running = next((job for job in emu._jobs.values() if not job.finished), None)
        if running is not None:
            emu._stats["userpilot_overlapping_jobs"] += 1
        else:
            job = _Job(
                job_id=f"bulk_identify:{uuid.uuid4()}",
                total_rows=len(users),
                file_size=len(req.body),
                start_time=_now_iso(),
                fails=bool(fault and fault.get("job_fails")),
                users=users,
            )
            emu._jobs[job.job_id] = job
            created = job.as_json()
    if running is not None:
        details = f"A bulk job is already in progress: {running.job_id}"
        return _userpilot_error(409, "Conflict", "job_in_progress", details, items=len(users))
    return Response(202, created, items=len(users))


def userpilot_background_job(emu: VendorEmulator, req: Request) -> Response:
    refused = _userpilot_auth_fails(emu, req)
    if refused:
        return refused
    job_id = unquote(req.path[len(JOB_PATH_PREFIX):])
    with emu._lock:
        job = emu._jobs.get(job_id)
        if job is not None:
            _advance_job(emu, job)
            current = job.as_json()
    if job is None:
        return _userpilot_error(404, "Not Found", "not_found", "No background job with this id")
    return Response(200, current)


def _finish_jobs_past_their_time(emu: VendorEmulator) -> None:
    """Jobs nobody polls (their creator's request timed out) still end (lock held)."""
    if emu.userpilot_job_seconds is None:
        return
    for job in emu._jobs.values():
        if not job.finished and time.monotonic() - job.created >= emu.userpilot_job_seconds:
            _finish_job(emu, job)


def _advance_job(emu: VendorEmulator, job: _Job) -> None:
    """One poll: `processing` until poll number `userpilot_job_polls`, then the end state."""
    if job.finished:
        return
    job.polls += 1
    if job.polls < emu.userpilot_job_polls:
        job.status = "processing"
        return
    _finish_job(emu, job)


def _finish_job(emu: VendorEmulator, job: _Job) -> None:
    """The end state: its users accepted unless the job was scripted to fail."""
    job.status = "failed" if job.fails else "completed"
    job.end_time = _now_iso()
    if not job.fails:
        emu._accept("userpilot", job.users, "bulk")
    job.users = None


# --------------------------------------------------------------------------- control API


def _control(emu: VendorEmulator, req: Request) -> Response:
    """Routes under /__emulator__/ (no auth, not counted in stats)."""
    action = req.path[len(CONTROL_PREFIX):]
    ok, body = _parse_json(req.body) if req.body else (True, {})
    if not ok:
        return Response(400, {"message": "body must be JSON"})
    try:
        if (req.method, action) == ("GET", "stats"):
            return Response(200, emu.stats())
        if (req.method, action) == ("GET", "requests"):
            return Response(200, emu.requests_log())
        if req.method == "GET" and action.startswith("accepted/"):
            vendor = action[len("accepted/"):]
            if vendor not in VENDORS:
                return Response(404, {"message": f"unknown vendor; expected one of {list(VENDORS)}"})
            return Response(200, emu.accepted(vendor, req.query.get("mode")))
        if (req.method, action) == ("POST", "faults"):
            emu.inject(body.get("faults", []), body.get("path"))
            return Response(200, {"queued": len(body.get("faults", []))})
        if (req.method, action) == ("POST", "poison"):
            emu.poison_user_ids = {str(user_id) for user_id in body.get("user_ids", [])}
            return Response(200, {"poison_user_ids": len(emu.poison_user_ids)})
        if (req.method, action) == ("POST", "reset"):
            emu.reset()
            return Response(200, {"reset": True})
    except (ValueError, RuntimeError, AttributeError, TypeError) as exc:
        return Response(400, {"message": str(exc)})
    return Response(404, {"message": "unknown control endpoint"})


# --------------------------------------------------------------------------- HTTP plumbing

ROUTES: dict[tuple[str, str], Callable[..., Response]] = {
    ("POST", "/api/identify"): thrivestack_identify,
    ("POST", "/customers"): crowdpower_customer,
    ("POST", "/customers/bulk"): crowdpower_bulk,
    ("POST", "/v3/profiles"): zaius_post_profiles,
    ("GET", "/v3/profiles"): zaius_get_profile,
    ("GET", "/v1/validate"): userpilot_validate,
    ("POST", "/v1/identify"): userpilot_identify,
    ("POST", BULK_IDENTIFY_PATH): userpilot_bulk_identify,
}


def _route(req: Request) -> tuple[str, Optional[Callable[..., Response]]]:
    """(stats label, handler function or None for 404)."""
    if req.method == "GET" and req.path.startswith(JOB_PATH_PREFIX) and len(req.path) > len(JOB_PATH_PREFIX):
        return JOB_ROUTE, userpilot_background_job
    return f"{req.method} {req.path}", ROUTES.get((req.method, req.path))


def _fault_response(fault: dict) -> Response:
    body = fault.get("body", {"message": "injected"})
    return Response(fault["status"], body, headers={str(k): str(v) for k, v in fault.get("headers", {}).items()})


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, dispatches it to a vendor function, writes a JSON answer."""

    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    disable_nagle_algorithm = True  # TCP_NODELAY: no Nagle + delayed-ACK stall per request
    server_version = "VendorEmulator/1.0"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.emulator._lock:
            self.server.emulator._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.emulator._lock:
            self.server.emulator._connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silenced: request lines can carry identifiers, and nothing here may leak keys."""

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _handle(self) -> None:
        emu = self.server.emulator
        body = self._read_body()
        if body is None:
            return
        url = urlsplit(self.path)
        req = Request(self.command, url.path, dict(parse_qsl(url.query)), self.headers, body)
        if req.path.startswith(CONTROL_PREFIX):
            self._send(_control(emu, req))
            return
        self._serve_vendor(emu, req)

    def _serve_vendor(self, emu: VendorEmulator, req: Request) -> None:
        route, handler = _route(req)
        fault = emu._take_fault(req)
        if fault and fault.get("drop"):
            emu._record(req, route, "dropped", None, False)
            self.close_connection = True  # the server closes the socket; nothing is written
            return
        if fault and "delay" in fault:
            time.sleep(fault["delay"])
        if fault and "status" in fault:
            response = _fault_response(fault)
        elif handler is None:
            response = Response(404, {"message": "Not Found"})
        else:
            response = self._call_vendor(emu, req, handler, fault)
        emu._record(req, route, response.status, response.items, response.auth_failed)
        if fault and "late" in fault:
            time.sleep(fault["late"])
        self._send(response)

    @staticmethod
    def _call_vendor(emu: VendorEmulator, req: Request, handler: Callable[..., Response], fault: Optional[dict]) -> Response:
        """Run the vendor function; an emulator bug answers 500 (Thrivestack documents 500)."""
        try:
            if handler is userpilot_bulk_identify:
                return handler(emu, req, fault)
            return handler(emu, req)
        except Exception as exc:  # noqa: BLE001 - report, never hang the client
            traceback.print_exc(file=sys.stderr)
            return Response(500, {"message": f"emulator internal error: {type(exc).__name__}"})

    def _read_body(self) -> Optional[bytes]:
        """The request body (Content-Length or chunked); None after answering a bad request."""
        try:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return self._read_chunked()
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0:
                raise ValueError("negative Content-Length")
        except ValueError:
            self.close_connection = True
            self._send(Response(400, {"message": "invalid Content-Length or chunked encoding"}))
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(self, response: Response) -> None:
        data = json.dumps(response.body).encode("utf-8")
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


# --------------------------------------------------------------------------- CLI


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description="Emulate the four identify vendors on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--api-key", default="test-key", help="the key every vendor accepts")
    parser.add_argument("--lean", action="store_true", help="keep counts only, not request bodies")
    parser.add_argument("--userpilot-job-polls", type=int, default=2, help="polls until a bulk job completes")
    args = parser.parse_args(argv)

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    emulator = VendorEmulator(
        args.api_key, port=args.port, store_bodies=not args.lean, userpilot_job_polls=args.userpilot_job_polls
    ).start()
    print(f"emulator listening on {emulator.url}", flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
