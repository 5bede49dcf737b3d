"""Real-HTTP tests pinning the vendor emulator's contract (see integration_tests/emulator.py)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from integration_tests.emulator import VendorEmulator

KEY = "pub123.secret456"  # a Zaius-style private key; "pub123" is its public key
PROJECT_ROOT = Path(__file__).resolve().parent.parent

THRIVESTACK = {"Authorization": f"Bearer {KEY}"}
CROWDPOWER = {"Authorization": f"Bearer {KEY}"}
ZAIUS = {"x-api-key": KEY}
USERPILOT = {"Authorization": f"Token {KEY}", "X-API-Version": "2020-09-22"}


def call(emu, method, path, body=None, headers=None, conn=None):
    """One request; returns (status, headers, parsed JSON body)."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    response = conn.getresponse()
    raw = response.read()
    if own:
        conn.close()
    return response.status, dict(response.getheaders()), json.loads(raw) if raw else None


def event(user_id="u1"):
    return {"user_id": user_id, "timestamp": "2024-01-15T10:30:00Z", "traits": {"enrichment_phone": ["+1"]}}


@pytest.fixture
def emu():
    with VendorEmulator(KEY) as emulator:
        yield emulator


def test_auth_failures_have_each_vendors_body_shape(emu):
    status, _, body = call(emu, "POST", "/api/identify", [event()], {"Authorization": "Bearer nope"})
    assert (status, body) == (401, {"success": False, "message": "Access token missing or invalid"})

    status, _, body = call(emu, "POST", "/customers/bulk", {"customers": []}, {"Authorization": "Bearer nope"})
    assert (status, body) == (401, {"success": False, "code": 401, "data": None, "message": "Unauthenticated."})

    status, _, body = call(emu, "POST", "/v3/profiles", {"attributes": {"email": "a@b.c"}}, {"x-api-key": "nope"})
    assert (status, body) == (403, {"message": "Forbidden"})

    # Bearer is not Userpilot's scheme.
    status, _, body = call(emu, "GET", "/v1/validate", headers={"Authorization": f"Bearer {KEY}"})
    assert status == 401
    assert body["errors"][0]["error_code"] == "unauthorized"
    assert body["errors"][0]["details"] == "Invalid API key"

    stats = emu.stats()
    assert stats["auth_failures"] == 4
    assert stats["missing_api_version"] == 1
    assert "secret456" not in json.dumps(emu.requests_log())


def test_zaius_public_key_writes_but_cannot_read(emu):
    public = {"x-api-key": "pub123"}
    status, _, body = call(emu, "POST", "/v3/profiles", {"attributes": {"email": "a@b.c", "first_name": "A"}}, public)
    assert status == 202 and body["title"] == "Accepted" and body["status"] == 202
    assert call(emu, "GET", "/v3/profiles?email=a@b.c", headers=public)[:3:2] == (403, {"message": "Forbidden"})

    status, _, body = call(emu, "GET", "/v3/profiles?email=a@b.c", headers=ZAIUS)
    assert (status, body) == (200, {"attributes": {"email": "a@b.c", "first_name": "A"}})
    status, _, body = call(emu, "GET", "/v3/profiles?email=x@y.z", headers=ZAIUS)
    assert status == 404 and body["title"] == "Not Found"
    assert body["detail"]["message"] == "Unable to find profile for email = x@y.z"


def test_thrivestack_limits_and_success(emu):
    status, _, body = call(emu, "POST", "/api/identify", [event(f"u{i}") for i in range(1001)], THRIVESTACK)
    assert status == 400 and body["success"] is False and "1000" in body["message"]

    status, _, body = call(emu, "POST", "/api/identify", [], THRIVESTACK)
    assert (status, body["message"]) == (400, "no identify events in request")

    bad = [event("u1"), {"user_id": "u2", "timestamp": "yesterday"}]
    status, _, body = call(emu, "POST", "/api/identify", bad, THRIVESTACK)
    assert status == 400 and body["message"].startswith("events[1].timestamp") and "yesterday" not in body["message"]
    typed = [{**event("u2"), "traits": {"enrichment_first_name": 5}}]
    status, _, body = call(emu, "POST", "/api/identify", typed, THRIVESTACK)
    assert (status, body["message"]) == (400, "events[0].traits.enrichment_first_name: must be a string")
    for not_utc in ("2024-01-15", "2024-01-15T10:30:00", "2024-01-15T10:30:00+05:00"):  # "in UTC", the page says
        status, _, body = call(emu, "POST", "/api/identify", [{"user_id": "u2", "timestamp": not_utc}], THRIVESTACK)
        assert (status, body["message"]) == (400, "events[0].timestamp: required, an ISO-8601 date-time in UTC")

    status, _, body = call(emu, "POST", "/api/identify", [event("u1"), event("u2")], {"x-api-key": KEY})
    assert status == 200 and body["success"] is True and body["message"] == "User(s) identified successfully"
    assert len(body["response_id"]) == 36
    assert [e["user_id"] for e in emu.accepted("thrivestack")] == ["u1", "u2"]
    assert emu.stats()["max_items_per_request"]["POST /api/identify"] == 1001


def test_crowdpower_validation_is_all_or_nothing(emu):
    assert call(emu, "POST", "/customers/bulk", {"customers": []}, CROWDPOWER)[0] == 200  # the check probe

    customers = [{"user_id": "c1", "update_session": False}, {"email": "x@y.z", "custom_attributes": {"tags": ["a"]}}]
    status, _, body = call(emu, "POST", "/customers/bulk", {"customers": customers}, CROWDPOWER)
    assert (status, body["code"]) == (400, 400)
    assert body["message"].startswith("customers[1].custom_attributes.tags:")
    assert emu.accepted("crowdpower") == []
    for date in ("2024-03-01", "2024-03-01T12:00:00Z", 1.5, True):  # a key ending in _at holds UNIX seconds
        customers = [{"user_id": "c1", "custom_attributes": {"trial_ends_at": date}}]
        status, _, body = call(emu, "POST", "/customers/bulk", {"customers": customers}, CROWDPOWER)
        assert (status, body["message"]) == (
            400, "customers[0].custom_attributes.trial_ends_at: a key ending in _at is a date, which must be UNIX seconds"
        )
    customers = [{"user_id": "c1", "custom_attributes": {"trial_ends_at": 1709294400}}]
    assert call(emu, "POST", "/customers/bulk", {"customers": customers}, CROWDPOWER)[0] == 200
    emu.reset()

    status, _, body = call(emu, "POST", "/customers", {"user_id": "c1", "signed_up_at": 1700000000}, CROWDPOWER)
    assert (status, body) == (200, {"success": True, "code": 200, "data": None})

    too_many = {"customers": [{"user_id": f"c{i}"} for i in range(501)]}
    status, _, body = call(emu, "POST", "/customers/bulk", too_many, CROWDPOWER)
    assert (status, body["code"], body["success"]) == (413, 413, False)


def test_zaius_poisoned_rows_are_listed_by_index(emu):
    emu.poison_user_ids = {"bad-1", "bad@x.io"}
    rows = [
        {"attributes": {"customer_id": "ok-0"}},
        {"attributes": {"customer_id": "bad-1"}},
        {"attributes": {"email": "bad@x.io"}},
        {"attributes": {"first_name": "no identifier"}},
        {"attributes": {"email": "e@x.io", "tags": ["nested"]}},
    ]
    status, _, body = call(emu, "POST", "/v3/profiles", rows, ZAIUS)
    assert status == 400 and body["title"] == "Bad Request"
    assert [invalid["event"] for invalid in body["detail"]["invalids"]] == [1, 2, 3, 4]
    assert emu.accepted("zaius") == []

    status, _, _ = call(emu, "POST", "/v3/profiles", [rows[0], {"attributes": {"email": "n@x.io", "zip": None}}], ZAIUS)
    assert status == 202
    assert emu.accepted("zaius")[0] == {"attributes": {"customer_id": "ok-0"}}
    assert emu.stats()["accepted_count"]["zaius"] == 2


def test_zaius_with_an_account_schema_refuses_fields_it_does_not_have():
    """Default fields and identifiers always exist; custom ones only if the account created them."""
    with VendorEmulator(KEY, zaius_custom_fields={"plan"}) as emu:
        rows = [
            {"attributes": {"customer_id": "ok-0", "first_name": "Ada", "dob_year": 1815, "plan": "pro"}},
            {"attributes": {"customer_id": "bad-1", "plan": "pro", "seats": 3}},
        ]
        status, _, body = call(emu, "POST", "/v3/profiles", rows, ZAIUS)
        assert status == 400
        assert body["detail"]["invalids"] == [
            {"event": 1, "message": "Field `seats` does not exist in the account's schema"}
        ]
        assert call(emu, "POST", "/v3/profiles", rows[:1], ZAIUS)[0] == 202


def test_zaius_rate_limit_per_second():
    with VendorEmulator(KEY, zaius_rate_per_second=2) as emu:
        statuses = [call(emu, "POST", "/v3/profiles", {"attributes": {"vuid": "v"}}, ZAIUS)[0] for _ in range(3)]
        assert statuses == [202, 202, 429]


def test_userpilot_bulk_job_polls_to_completed_and_refuses_overlap(emu):
    users = {"users": [{"user_id": "u1", "company_id": "c1", "metadata": {"n": 3, "ok": True}}, {"user_id": "u2"}]}
    status, _, job = call(emu, "POST", "/v1/users/bulk_identify", users, USERPILOT)
    assert status == 202 and job["status"] == "queued" and job["job_id"].startswith("bulk_identify:")
    assert (job["total_rows"], job["filename"], job["end_time"]) == (2, "bulk_identify_2.json", None)

    status, _, body = call(emu, "POST", "/v1/users/bulk_identify", users, USERPILOT)
    assert status == 409 and body["errors"][0]["error_code"] == "job_in_progress"

    path = "/v1/background_jobs/" + quote(job["job_id"], safe="")
    assert "%3A" in path
    assert call(emu, "GET", path, headers=USERPILOT)[2]["status"] == "processing"
    assert emu.accepted("userpilot") == []  # not accepted until the job completes
    polled = call(emu, "GET", path, headers=USERPILOT)[2]
    assert polled["status"] == "completed" and polled["end_time"]
    assert [u["user_id"] for u in emu.accepted("userpilot", mode="bulk")] == ["u1", "u2"]
    assert emu.stats()["userpilot_overlapping_jobs"] == 1
    assert call(emu, "GET", "/v1/background_jobs/nope", headers=USERPILOT)[0] == 404


def test_userpilot_job_fails_fault_and_realtime_rules():
    with VendorEmulator(KEY, userpilot_job_polls=1, userpilot_rate_per_minute=2) as emu:
        emu.inject({"job_fails": True})
        job = call(emu, "POST", "/v1/users/bulk_identify", {"users": [{"user_id": "u1"}]}, USERPILOT)[2]
        polled = call(emu, "GET", "/v1/background_jobs/" + quote(job["job_id"]), headers=USERPILOT)[2]
        assert polled["status"] == "failed" and emu.stats()["accepted_count"]["userpilot"] == 0

        status, _, body = call(emu, "POST", "/v1/identify", {"user_id": "u1", "metadata": {"age": 3}}, USERPILOT)
        assert status == 400 and body["errors"][0]["error_code"] == "invalid_payload"
        assert "metadata.age" in body["errors"][0]["details"]
        ok = {"user_id": "u1", "metadata": {"age": "3"}, "company": {"company_id": "c1"}}
        assert call(emu, "POST", "/v1/identify", ok, USERPILOT)[:3:2] == (202, {"status": "accepted"})
        status, headers, body = call(emu, "POST", "/v1/identify", ok, USERPILOT)
        assert status == 429 and body["errors"][0]["error_code"] == "rate_limited" and "Retry-After" not in headers
        assert emu.accepted("userpilot", mode="realtime") == [ok]


def test_injected_503_then_success(emu):
    emu.inject([{"status": 503, "headers": {"Retry-After": "1"}}], path="/api/identify")
    assert call(emu, "GET", "/v1/validate", headers=USERPILOT)[0] == 200  # other paths unaffected
    status, headers, body = call(emu, "POST", "/api/identify", [event()], THRIVESTACK)
    assert (status, headers["Retry-After"], body) == (503, "1", {"message": "injected"})
    assert call(emu, "POST", "/api/identify", [event()], THRIVESTACK)[0] == 200
    assert emu.stats()["faults_served"] == 1
    assert len(emu.accepted("thrivestack")) == 1


def test_dropped_connection_then_recovery(emu):
    emu.inject({"drop": True})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        call(emu, "POST", "/customers", {"user_id": "c1"}, CROWDPOWER)
    assert call(emu, "POST", "/customers", {"user_id": "c1"}, CROWDPOWER)[0] == 200
    assert emu.stats()["by_status"] == {"dropped": 1, "200": 1}
    assert len(emu.accepted("crowdpower")) == 1


def test_keep_alive_connections_have_tcp_nodelay(emu):
    """No Nagle + delayed-ACK stall per request: the accepted socket has TCP_NODELAY set."""
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    for _ in range(3):  # one connection, kept alive across requests
        assert call(emu, "POST", "/api/identify", [event()], THRIVESTACK, conn=conn)[0] == 200
    with emu._lock:
        accepted = list(emu._connections)
    assert len(accepted) == 1
    assert accepted[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    conn.close()


def test_control_api(emu):
    assert call(emu, "POST", "/__emulator__/poison", {"user_ids": ["bad"]})[0] == 200
    status, _, body = call(emu, "POST", "/api/identify", [event("ok"), event("bad")], THRIVESTACK)
    assert status == 400 and body["message"].startswith("events[1].user_id")

    faults = {"faults": [{"status": 500, "body": {"success": False, "message": "boom"}}], "path": None}
    assert call(emu, "POST", "/__emulator__/faults", faults)[2] == {"queued": 1}
    assert call(emu, "POST", "/api/identify", [event("ok")], THRIVESTACK)[0] == 500
    assert call(emu, "POST", "/api/identify", [event("ok")], THRIVESTACK)[0] == 200
    assert call(emu, "POST", "/__emulator__/faults", {"faults": [{"nonsense": 1}]})[0] == 400

    assert call(emu, "GET", "/__emulator__/accepted/thrivestack")[2] == [event("ok")]
    stats = call(emu, "GET", "/__emulator__/stats")[2]
    assert stats["requests"] == 3 and stats["by_route"] == {"POST /api/identify": 3}
    assert call(emu, "GET", "/nowhere")[0] == 404

    assert call(emu, "POST", "/__emulator__/reset")[0] == 200
    assert emu.stats()["requests"] == 0 and emu.accepted("thrivestack") == [] and not emu.poison_user_ids


def test_lean_mode_keeps_counts_only():
    with VendorEmulator(KEY, store_bodies=False) as emu:
        assert call(emu, "POST", "/api/identify", [event("a"), event("b")], THRIVESTACK)[0] == 200
        assert emu.stats()["accepted_count"]["thrivestack"] == 2
        with pytest.raises(RuntimeError):
            emu.accepted("thrivestack")


def test_cli_prints_url_and_stops_on_sigterm():
    process = subprocess.Popen(
        [sys.executable, "-m", "integration_tests.emulator", "--port", "0", "--api-key", KEY],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("emulator listening on http://127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/v1/validate", headers=USERPILOT)
        assert conn.getresponse().status == 200
        conn.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
