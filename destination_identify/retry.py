"""Retry policy as a small immutable value, plus the pure arithmetic of waiting.

Like stamina / urllib3's Retry: named knobs, exponential backoff with full jitter, the vendor's
`Retry-After` honoured (seconds or HTTP date) but capped, and a total time budget.
"""

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 9  # the first try plus max_retries
    wait_initial: float = 1.0
    wait_max: float = 60.0
    wait_jitter: bool = True
    budget_seconds: float = 1800.0  # never spend longer than this on one request

    def backoff(self, retry_number: int, unit_random: float) -> float:
        """The wait before retry number `retry_number` (1-based); full jitter over [0, ceiling]."""
        ceiling = min(self.wait_max, self.wait_initial * (2 ** min(retry_number - 1, 60)))  # no float overflow
        return ceiling * unit_random if self.wait_jitter else ceiling

    def wait_before(self, retry_number: int, retry_after: float | None, unit_random: float) -> float:
        """The vendor's Retry-After wins when given (capped at wait_max), else backoff."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.wait_max)
        return self.backoff(retry_number, unit_random)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date. None when absent or bad."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max((moment - now).total_seconds(), 0.0)


class Pacer:
    """Spaces requests to a vendor's documented rate across threads; slows down after a 429.

    After each 429 the interval doubles (up to 8x); each success shrinks it back by 10%.
    """

    MAX_SLOWDOWN = 8.0

    def __init__(self, requests_per_second: float | None, clock=time.monotonic, sleep=time.sleep) -> None:
        self._base = 1.0 / requests_per_second if requests_per_second else 0.0
        self._interval = self._base
        self._next = 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()

    @property
    def interval(self) -> float:
        return self._interval

    def wait_turn(self) -> None:
        if not self._interval and not self._base:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            self._sleep(start - now)

    def slow_down(self) -> None:
        with self._lock:
            base = self._base or 0.05
            self._interval = min(max(self._interval, base) * 2, base * self.MAX_SLOWDOWN)

    def succeeded(self) -> None:
        if self._interval > self._base:
            with self._lock:
                self._interval = max(self._base, self._interval * 0.9)
                if self._interval < 0.001 and not self._base:
                    self._interval = 0.0
