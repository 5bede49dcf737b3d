"""Backoff arithmetic, Retry-After parsing and the Pacer, on a fake clock (no real sleeping)."""

from datetime import datetime, timezone

import pytest

from destination_identify.retry import Pacer, RetryPolicy, parse_retry_after

from unit_tests.fakes import FakeTime


def test_backoff_ceiling_doubles_then_caps_at_wait_max():
    policy = RetryPolicy(wait_initial=1.0, wait_max=60.0, wait_jitter=False)
    assert [policy.backoff(n, unit_random=0.5) for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert policy.backoff(5000, unit_random=0.5) == 60  # a long wait for a busy vendor: no overflow


def test_full_jitter_scales_the_ceiling_by_the_random_draw():
    policy = RetryPolicy(wait_initial=0.5, wait_max=10.0)
    assert policy.backoff(1, 0.0) == 0.0
    assert policy.backoff(1, 0.5) == 0.25
    assert policy.backoff(3, 0.25) == 0.5  # ceiling 2.0
    assert policy.backoff(4, 0.999) == pytest.approx(3.996)  # ceiling 4.0
    assert policy.backoff(10, 0.5) == 5.0  # ceiling capped at 10.0


def test_retry_after_wins_over_backoff_and_is_capped():
    policy = RetryPolicy(wait_initial=1.0, wait_max=30.0)
    assert policy.wait_before(1, 7.0, unit_random=0.9) == 7.0
    assert policy.wait_before(1, 3600.0, unit_random=0.9) == 30.0
    assert policy.wait_before(1, -5.0, unit_random=0.9) == 0.0
    assert policy.wait_before(3, None, unit_random=0.5) == 2.0


def test_defaults():
    policy = RetryPolicy()
    assert (policy.attempts, policy.wait_initial, policy.wait_max, policy.wait_jitter, policy.budget_seconds) == (
        9, 1.0, 60.0, True, 1800.0,
    )


NOW = datetime(2015, 10, 21, 7, 28, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "header, seconds",
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("Wed, 21 Oct 2015 07:28:45 GMT", 45.0),  # HTTP date, 45 s ahead of NOW
        ("Wed, 21 Oct 2015 08:28:00 GMT", 3600.0),
        ("Wed, 21 Oct 2015 08:28:00 +0100", 0.0),  # same instant as NOW
        ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),  # in the past: no wait
        ("Wed, 21 Oct 2015 07:28:30", 30.0),  # no zone: GMT
    ],
)
def test_parse_retry_after(header, seconds):
    assert parse_retry_after(header, now=NOW) == seconds


@pytest.mark.parametrize("header", [None, "", "   ", "soon", "1.5", "-3"])
def test_parse_retry_after_ignores_absent_or_malformed_values(header):
    assert parse_retry_after(header, now=NOW) is None


def test_pacer_spaces_requests_at_the_documented_rate():
    time = FakeTime(start=100.0)
    pacer = Pacer(10.0, clock=time.clock, sleep=time.sleep)  # one request every 0.1 s
    for _ in range(4):
        pacer.wait_turn()
    assert time.sleeps == pytest.approx([0.1, 0.1, 0.1])
    assert time.now == pytest.approx(100.3)


def test_pacer_does_not_wait_when_requests_are_already_spaced():
    time = FakeTime(start=100.0)
    pacer = Pacer(10.0, clock=time.clock, sleep=time.sleep)
    pacer.wait_turn()
    time.now += 0.5
    pacer.wait_turn()
    time.now += 0.05
    pacer.wait_turn()
    assert time.sleeps == pytest.approx([0.05])


def test_pacer_slows_down_after_429_up_to_8x_and_recovers_on_success():
    time = FakeTime()
    pacer = Pacer(10.0, clock=time.clock, sleep=time.sleep)
    assert pacer.interval == pytest.approx(0.1)
    pacer.slow_down()
    assert pacer.interval == pytest.approx(0.2)
    pacer.slow_down()
    pacer.slow_down()
    pacer.slow_down()
    assert pacer.interval == pytest.approx(0.8)  # capped at 8x
    pacer.wait_turn()
    pacer.wait_turn()
    assert time.sleeps == pytest.approx([0.8])
    pacer.succeeded()
    assert pacer.interval == pytest.approx(0.72)
    for _ in range(100):
        pacer.succeeded()
    assert pacer.interval == pytest.approx(0.1)  # never faster than the documented rate


def test_unpaced_vendor_never_waits_until_a_429_then_recovers_to_no_wait():
    time = FakeTime()
    pacer = Pacer(None, clock=time.clock, sleep=time.sleep)
    for _ in range(5):
        pacer.wait_turn()
    assert time.sleeps == [] and pacer.interval == 0.0
    pacer.slow_down()
    assert pacer.interval == pytest.approx(0.1)
    pacer.wait_turn()
    pacer.wait_turn()
    assert time.sleeps == pytest.approx([0.1])
    for _ in range(100):
        pacer.succeeded()
    assert pacer.interval == 0.0
    time.sleeps.clear()
    pacer.wait_turn()
    pacer.wait_turn()
    assert time.sleeps == []
