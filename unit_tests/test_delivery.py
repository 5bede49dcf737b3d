"""Deliverer against a fake transport: retries, give-up, fatal errors, bisection, Zaius row
refusals and Userpilot job polling. Time is a fake clock; nothing really sleeps."""

import orjson
import pytest

from destination_identify.delivery import DeliveryCounters, Deliverer, join_body
from destination_identify.errors import ConfigError, TransientSyncError, VendorProtocolError
from destination_identify.retry import Pacer, RetryPolicy
from destination_identify.transport import TransportFailure
from destination_identify.vendors import vendor_from_config
from destination_identify.vendors.base import HttpCall

from unit_tests.fakes import FakeTime, FakeTransport, response

OK = response(200, {"success": True})


def vendor(name, **options):
    return vendor_from_config({"vendor": name, "api_key": "secret-key", **options})


class Harness:
    def __init__(self, vendor_, transport, policy=None, draw=0.5):
        self.vendor = vendor_
        self.transport = transport
        self.time = FakeTime()
        self.counters = DeliveryCounters()
        self.warnings = []
        self.pacer = Pacer(vendor_.requests_per_second, clock=self.time.clock, sleep=self.time.sleep)
        self.deliverer = Deliverer(
            vendor_,
            transport,
            policy or RetryPolicy(attempts=4, wait_initial=1.0, wait_max=8.0),
            self.pacer,
            self.counters,
            self.warnings.append,
            sleep=self.time.sleep,
            clock=self.time.clock,
            unit_random=lambda: draw,
        )

    def deliver(self, items):
        return self.deliverer.deliver(items)


def items_for(count, prefix="u"):
    return [orjson.dumps({"user_id": f"{prefix}{n}"}) for n in range(count)]


def user_ids(call, key=None):
    body = orjson.loads(call.body)
    rows = body[key] if key else body
    return [row["user_id"] if "user_id" in row else row["attributes"]["customer_id"] for row in rows]


def test_a_healthy_batch_is_one_request_with_the_joined_body():
    transport = FakeTransport([OK])
    harness = Harness(vendor("thrivestack"), transport)
    items = items_for(3)
    outcome = harness.deliver(items)
    assert outcome.rejected == [] and len(transport.calls) == 1
    assert transport.calls == [HttpCall("POST", "/api/identify", b'[{"user_id":"u0"},{"user_id":"u1"},{"user_id":"u2"}]')]
    assert harness.time.sleeps == []


def test_429_503_and_a_dropped_connection_are_retried_then_succeed():
    transport = FakeTransport(
        [
            response(429, b"", {"Retry-After": "7"}),
            response(503),
            TransportFailure("https://api.app.thrivestack.ai dropped the connection"),
            OK,
        ]
    )
    harness = Harness(vendor("thrivestack"), transport, draw=0.5)
    outcome = harness.deliver(items_for(2))
    assert outcome.rejected == []
    assert len(transport.calls) == 4
    assert len({call.body for call in transport.calls}) == 1  # the same request each time
    # Retry-After 7 s honoured; then full jitter: 0.5 x ceiling 2 s, 0.5 x ceiling 4 s.
    assert harness.time.sleeps == [7.0, 1.0, 2.0]
    assert (harness.counters.requests, harness.counters.retries, harness.counters.rate_limited) == (4, 3, 1)
    assert harness.warnings[0] == "Thrivestack answered 429; retry 1 of 3 in 7.00s"
    assert 0 < harness.pacer.interval < 0.1  # slowed after the 429, recovering after success


GENERIC_STATUSES = [
    # status -> the verdict's kind: retried (timeouts, conflicts, too early, rate limits, 5xx),
    # refused (content: the batch is halved to find its rows), fatal (a key, a URL, the unknown)
    (408, "Retry"), (409, "Retry"), (425, "Retry"), (429, "Retry"), (500, "Retry"), (503, "Retry"),
    (400, "BatchRefused"), (413, "BatchRefused"), (422, "BatchRefused"),
    (401, "Fatal"), (403, "Fatal"), (404, "Fatal"), (418, "Fatal"), (302, "Fatal"),
]


@pytest.mark.parametrize("name", ["thrivestack", "crowdpower", "zaius"])
@pytest.mark.parametrize(("status", "kind"), GENERIC_STATUSES)
def test_each_status_gets_its_generic_meaning(name, status, kind):
    """(Userpilot's 409 is its own: a bulk job already running, waited for.) A 413 retried would
    stop the sync after max_retries where halving delivers; a 409 taken as fatal would stop it."""
    verdict = vendor(name).read_response(status, b'{"message": "no"}', {"retry-after": "3"}, 10)
    assert type(verdict).__name__ == kind
    if kind == "Retry":
        assert verdict.retry_after == "3" and verdict.rate_limited == (status == 429)
    if status in (418, 302):
        assert verdict.failure_type == "system_error"


@pytest.mark.parametrize(
    ("name", "options", "caps"),
    [
        ("thrivestack", {}, (1000, 2_000_000)),  # the identify page: 1,000 events or 2 MB
        ("crowdpower", {}, (500, 1_000_000)),  # none documented: our conservative choice
        ("zaius", {}, (500, 4_000_000)),  # 500 objects per request
        ("userpilot", {"mode": "bulk"}, (10_000, 5_000_000)),  # 10,000 users per job
        ("userpilot", {"mode": "realtime"}, (1, 1_000_000)),  # one user per call
    ],
)
def test_batch_caps_are_the_documented_ones(name, options, caps):
    """A cap above the vendor's turns every full batch into a 400 or 413, halved row by row."""
    limits = vendor(name, **options).limits
    assert (limits.max_records, limits.max_bytes) == caps


def test_gives_up_after_the_attempts_with_a_transient_error_naming_vendor_and_status():
    transport = FakeTransport([response(503)] * 10)
    harness = Harness(vendor("crowdpower"), transport, policy=RetryPolicy(attempts=3, wait_initial=1.0, wait_max=8.0), draw=1.0)
    with pytest.raises(TransientSyncError) as caught:
        harness.deliver(items_for(5))
    assert len(transport.calls) == 3
    assert harness.time.sleeps == [1.0, 2.0]
    assert str(caught.value) == "CrowdPower still failing after 3 attempt(s) over 3.0s: CrowdPower answered 503"


def test_gives_up_when_the_next_wait_would_pass_the_time_budget():
    transport = FakeTransport([response(429, b"", {"Retry-After": "50"})] * 10)
    policy = RetryPolicy(attempts=100, wait_initial=1.0, wait_max=60.0, budget_seconds=120.0)
    harness = Harness(vendor("zaius"), transport, policy=policy)
    with pytest.raises(TransientSyncError, match=r"Zaius \(Optimizely Data Platform\) answered 429"):
        harness.deliver(items_for(1))
    assert len(transport.calls) == 3  # waits 50 + 50; a third wait would end at 150 s > 120 s
    assert [s for s in harness.time.sleeps if s == 50.0] == [50.0, 50.0]


def test_transport_failures_past_the_budget_name_the_failure():
    transport = FakeTransport([TransportFailure("cannot reach https://beacon.crowdpower.io: connection refused")] * 2)
    harness = Harness(vendor("crowdpower"), transport, policy=RetryPolicy(attempts=2, wait_initial=0.5, wait_max=1.0))
    with pytest.raises(TransientSyncError, match="connection refused"):
        harness.deliver(items_for(1))
    assert len(transport.calls) == 2


@pytest.mark.parametrize("status", [401, 403])
def test_a_bad_key_is_a_config_error_without_any_retry(status):
    transport = FakeTransport([response(status, {"message": "Unauthorized"}), OK])
    harness = Harness(vendor("thrivestack"), transport)
    with pytest.raises(ConfigError, match=rf"Thrivestack rejected the API key \({status}\)"):
        harness.deliver(items_for(3))
    assert len(transport.calls) == 1 and harness.time.sleeps == []


def test_an_unexpected_status_is_a_protocol_error():
    harness = Harness(vendor("thrivestack"), FakeTransport([response(418)]))
    with pytest.raises(VendorProtocolError, match="unexpected 418"):
        harness.deliver(items_for(1))


@pytest.mark.parametrize("vendor_name", ["thrivestack", "crowdpower"])
def test_bisection_finds_exactly_the_three_bad_rows_in_a_thousand(vendor_name):
    vendor_ = vendor(vendor_name)
    key = "customers" if vendor_name == "crowdpower" else None
    bad = {"u17", "u500", "u999"}
    accepted = []

    def answer(call):
        ids = user_ids(call, key)
        if bad.intersection(ids):
            return response(400, {"message": "invalid input data"})
        accepted.extend(ids)
        return OK

    transport = FakeTransport(responder=answer)
    harness = Harness(vendor_, transport)
    outcome = harness.deliver(items_for(1000))
    assert [index for index, _ in outcome.rejected] == [17, 500, 999]
    assert {reason for _, reason in outcome.rejected} == {f"{vendor_.title} answered 400: invalid input data"}
    assert sorted(accepted) == sorted(f"u{n}" for n in range(1000) if f"u{n}" not in bad)
    assert len(accepted) == 997  # each good row accepted exactly once
    assert len(transport.calls) <= 1 + 2 * 3 * 10  # log2(1000) < 10 per bad row
    assert all(len(join_body(vendor_, [])) < len(call.body) for call in transport.calls)


def test_bisection_of_a_single_bad_row():
    transport = FakeTransport([response(400, b"bad row")])
    outcome = Harness(vendor("thrivestack"), transport).deliver(items_for(1))
    assert outcome.rejected == [(0, "Thrivestack answered 400: bad row")]


def test_zaius_invalids_reject_exactly_the_named_rows_and_resend_the_rest():
    zaius = vendor("zaius")
    items = [orjson.dumps({"attributes": {"customer_id": f"u{n}"}}) for n in range(10)]
    bad = {"u2": "Invalid gender", "u5": "Unknown field `shoe_size`", "u9": "Invalid email"}

    def answer(call):
        ids = user_ids(call)
        invalids = [{"event": index, "message": bad[uid]} for index, uid in enumerate(ids) if uid in bad]
        if invalids:
            return response(400, {"title": "Bad Request", "status": 400, "detail": {"invalids": invalids}})
        return response(202, {"title": "Accepted", "status": 202})

    transport = FakeTransport(responder=answer)
    outcome = Harness(zaius, transport).deliver(items)
    assert outcome.rejected == [
        (2, "Zaius refused the row: Invalid gender"),
        (5, "Zaius refused the row: Unknown field `shoe_size`"),
        (9, "Zaius refused the row: Invalid email"),
    ]
    assert len(transport.calls) == 2  # no halving: the vendor named the rows
    assert user_ids(transport.calls[1]) == ["u0", "u1", "u3", "u4", "u6", "u7", "u8"]


def test_zaius_invalids_in_a_retried_subset_are_mapped_back_to_the_original_rows():
    zaius = vendor("zaius")
    items = [orjson.dumps({"attributes": {"customer_id": f"u{n}"}}) for n in range(6)]
    script = [
        response(400, {"detail": {"invalids": [{"event": 0, "message": "first"}]}}),
        # second request holds u1..u5: its index 2 is u3
        response(400, {"detail": {"invalids": [{"event": 2, "message": "second"}]}}),
        response(202, {}),
    ]
    transport = FakeTransport(script)
    outcome = Harness(zaius, transport).deliver(items)
    assert outcome.rejected == [(0, "Zaius refused the row: first"), (3, "Zaius refused the row: second")]
    assert user_ids(transport.calls[2]) == ["u1", "u2", "u4", "u5"]


def test_zaius_pacing_stays_under_ten_requests_per_second():
    zaius = vendor("zaius")
    transport = FakeTransport([response(202, {})] * 20)
    harness = Harness(zaius, transport)
    for _ in range(20):
        harness.deliver(items_for(1))
    assert harness.time.now - 1000.0 == pytest.approx(19 / 9.5)


def job(status, job_id="bulk:42"):
    return response(200, {"job_id": job_id, "status": status})


def test_userpilot_bulk_job_is_polled_until_completed():
    userpilot = vendor("userpilot", job_poll_interval_seconds=2)
    transport = FakeTransport(
        [
            response(202, {"job_id": "bulk:42", "status": "queued"}),
            job("queued"),
            response(503),
            job("processing"),
            job("completed"),
        ]
    )
    harness = Harness(userpilot, transport, draw=0.25)
    outcome = harness.deliver(items_for(3))
    assert outcome.rejected == [] and len(transport.calls) == 5
    assert transport.calls[0] == HttpCall(
        "POST", "/v1/users/bulk_identify", b'{"users":[{"user_id":"u0"},{"user_id":"u1"},{"user_id":"u2"}]}'
    )
    assert transport.calls[1:] == [HttpCall("GET", "/v1/background_jobs/bulk%3A42")] * 4
    assert harness.time.sleeps == [2.0, 2.0, 0.25, 2.0]  # poll interval, and one retry wait for the 503


def test_userpilot_failed_job_is_a_transient_error_naming_the_job():
    transport = FakeTransport([response(202, {"job_id": "bulk:77", "status": "queued"}), job("processing", "bulk:77"), job("failed", "bulk:77")])
    harness = Harness(vendor("userpilot"), transport)
    with pytest.raises(TransientSyncError, match="Userpilot bulk job bulk:77 failed"):
        harness.deliver(items_for(2))
    assert len(transport.calls) == 3


def test_userpilot_job_that_never_settles_times_out():
    transport = FakeTransport(responder=lambda call: response(202, {"job_id": "j", "status": "queued"}) if call.method == "POST" else job("queued", "j"))
    harness = Harness(vendor("userpilot", job_poll_interval_seconds=600), transport)
    with pytest.raises(TransientSyncError, match="^Userpilot job j did not complete in 100 minutes; a batch is given up after 100 minutes, before Airbyte's 2-hour destination timeout"):
        harness.deliver(items_for(1))
    # polls at 600 s, 1200 s, ... 6000 s: a poll after that would pass the batch's 100 minutes
    assert len(transport.calls) == 1 + 10
    assert sum(harness.time.sleeps) == 6000.0


BUSY = response(409, {"errors": [{"error_code": "job_in_progress"}]})


def test_userpilot_busy_with_an_earlier_job_is_waited_for_outside_the_retry_budget():
    """A bulk POST whose answer timed out leaves a job running that we never learn of: the next
    POST is answered 409 until it ends. That is waited for, however many attempts it takes."""
    transport = FakeTransport([BUSY] * 6 + [response(202, {"job_id": "bulk:9", "status": "queued"}), job("completed", "bulk:9")])
    harness = Harness(vendor("userpilot", job_poll_interval_seconds=5), transport, policy=RetryPolicy(attempts=2), draw=0.5)
    outcome = harness.deliver(items_for(2))
    assert outcome.rejected == [] and len(transport.calls) == 8
    # backoff (full jitter drawn at 0.5: 0.5, 1, 2, 4, 8, 16 s), never under the 5 s poll interval
    assert harness.time.sleeps == [5.0, 5.0, 5.0, 5.0, 8.0, 16.0, 5.0]
    assert harness.warnings[0] == "Userpilot answered 409: a bulk job is already running; waiting 5.00s for it to finish (busy for 0s so far)"
    assert harness.counters.retries == 6


def test_time_spent_waiting_for_a_busy_vendor_does_not_use_up_the_retry_budget():
    """31 minutes of 409, then a 503: the 503 is retried (the budget is 30 minutes of retrying)."""
    transport = FakeTransport([BUSY] * 36 + [response(503), response(202, {"job_id": "j", "status": "queued"}), job("completed", "j")])
    harness = Harness(vendor("userpilot"), transport, policy=RetryPolicy(attempts=3, wait_max=60.0), draw=1.0)
    assert harness.deliver(items_for(1)).rejected == []
    assert harness.time.sleeps[:36] == [5.0, 5.0, 5.0, 8.0, 16.0, 32.0] + [60.0] * 30
    assert sum(harness.time.sleeps[:36]) == 1871.0  # 31 minutes
    assert len(transport.calls) == 39


def test_userpilot_busy_past_the_batch_time_limit_is_a_transient_error():
    transport = FakeTransport(responder=lambda call: BUSY)
    harness = Harness(vendor("userpilot"), transport, policy=RetryPolicy(attempts=2, wait_max=60.0), draw=1.0)
    with pytest.raises(TransientSyncError, match=r"^Userpilot stayed busy for 99 minutes: Userpilot answered 409: a bulk job is already running; a batch is given up after 100 minutes"):
        harness.deliver(items_for(1))
    assert sum(harness.time.sleeps) <= 6000.0


def test_busy_waits_and_job_polls_share_the_batch_time_limit():
    """Airbyte fails a destination whose input stays unread for 2 hours, and the write loop may
    be waiting on this batch: 60 minutes busy, then a job that never ends, gives up at 100."""
    answers = iter([BUSY] * 64 + [response(202, {"job_id": "j", "status": "queued"})])
    transport = FakeTransport(responder=lambda call: next(answers) if call.method == "POST" else job("queued", "j"))
    harness = Harness(vendor("userpilot", job_poll_interval_seconds=60), transport, policy=RetryPolicy(attempts=2, wait_max=60.0), draw=1.0)
    with pytest.raises(TransientSyncError, match=r"^Userpilot job j did not complete in \d+ minutes; a batch is given up after 100 minutes"):
        harness.deliver(items_for(1))
    busy_seconds = sum(harness.time.sleeps[:64])
    assert 3600 <= busy_seconds < 4000
    assert 6000 - 60 < sum(harness.time.sleeps) <= 6000


def test_retries_stop_at_the_batch_time_limit():
    """A 503 every time, with a retry policy (attempts, seconds) allowing more than the batch's
    time: the retries stop at the batch's limit, before Airbyte's timeout would stop the sync."""
    transport = FakeTransport(responder=lambda call: response(503))
    policy = RetryPolicy(attempts=50, wait_max=600.0, budget_seconds=100_000.0)
    harness = Harness(vendor("thrivestack"), transport, policy=policy, draw=1.0)
    with pytest.raises(TransientSyncError, match="a batch is given up after 100 minutes"):
        harness.deliver(items_for(1))
    assert 6000 - 600 < sum(harness.time.sleeps) <= 6000


def test_halving_stops_at_the_batch_time_limit():
    """Every row refused, each answer 10 s late: finding the 1,000 rows would take 1,999 requests
    (333 minutes), so the sync stops at 100 minutes rather than leave its input unread."""
    harness = None

    def slow_refusal(call):
        harness.time.sleep(10.0)
        return response(400, {"error": "bad row"})

    harness = Harness(vendor("thrivestack"), FakeTransport(responder=slow_refusal))
    with pytest.raises(TransientSyncError, match="^Thrivestack still had rows of a batch to settle after 100 minutes; a batch is given up"):
        harness.deliver(items_for(1000))
    assert 6000 < sum(harness.time.sleeps) <= 6010


ADA = {"first_name": "Ada", "last_name": "Lovelace", "street1": "12 Analytical Row", "customer_id": "u0"}


def test_a_vendor_echoing_a_refused_rows_values_is_reported_without_them():
    zaius = vendor("zaius")
    items = [orjson.dumps({"attributes": ADA}), orjson.dumps({"attributes": {"customer_id": "u1", "city": "Boston"}})]
    echo = "first_name 'Ada' last_name 'Lovelace' street1 '12 Analytical Row' is invalid (Adam is fine)"
    transport = FakeTransport([response(400, {"detail": {"invalids": [{"event": 0, "message": echo}]}}), response(202, {})])
    outcome = Harness(zaius, transport).deliver(items)
    assert outcome.rejected == [
        (0, "Zaius refused the row: first_name '<value>' last_name '<value>' street1 '<value>' is invalid (Adam is fine)")
    ]

    transport = FakeTransport([response(400, b"<html>invalid name Ada Lovelace</html>")])
    outcome = Harness(vendor("thrivestack"), transport).deliver([orjson.dumps({"user_id": "u0", "traits": ADA})])
    assert outcome.rejected == [(0, "Thrivestack answered 400: <html>invalid name <value> <value></html>")]


def test_a_fatal_answer_echoing_the_batch_is_raised_without_its_values():
    items = [orjson.dumps({"user_id": "u0", "traits": ADA}), orjson.dumps({"user_id": "u1", "traits": {"city": "Boston"}})]
    transport = FakeTransport([response(418, {"message": "teapots do not know Ada Lovelace of Boston"})])
    with pytest.raises(VendorProtocolError) as caught:
        Harness(vendor("thrivestack"), transport).deliver(items)
    assert str(caught.value) == "Thrivestack answered an unexpected 418: teapots do not know <value> <value> of <value>"
