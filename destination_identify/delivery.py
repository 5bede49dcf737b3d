"""Delivering one batch: retries, pacing, asynchronous jobs, and finding the rows at fault.

The outcome of a batch is settled here: every row is either accepted by the vendor or rejected
with the vendor's reason. Anything else (a bad key, an outage past the retry budget) raises and
stops the sync.
"""

import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Sequence

from destination_identify.batching import PackedItems
from destination_identify.errors import SyncError, TransientSyncError, sync_error
from destination_identify.redact import scrub_sent_values
from destination_identify.retry import Pacer, RetryPolicy, parse_retry_after
from destination_identify.transport import Transport, TransportFailure
from destination_identify.vendors.base import (
    Accepted,
    BatchRefused,
    Fatal,
    HttpCall,
    JobPending,
    Retry,
    RowsRefused,
    Vendor,
    Verdict,
)

# One batch, from its first request to its verdict (retries, waits for a busy vendor, job polls
# and bisection included), never takes longer: the write loop may be waiting on it with its input
# unread, and Airbyte fails a destination that leaves its input unread for 2 hours
# (airbyte-platform's DestinationTimeoutMonitor, DestinationTimeoutSeconds = 7200).
BATCH_TIME_LIMIT_SECONDS = 100 * 60.0


@dataclass
class BatchOutcome:
    """`rejected`: (row index in the batch, reason) for each row the vendor refused."""

    rejected: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class DeliveryCounters:
    """Shared across threads; read for the final report."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, requests: int = 0, retries: int = 0, rate_limited: int = 0) -> None:
        with self.lock:
            self.requests += requests
            self.retries += retries
            self.rate_limited += rate_limited


def join_body(vendor: Vendor, items: Sequence[bytes]) -> bytes:
    if isinstance(items, PackedItems):  # already joined by the separator
        return b"".join((vendor.body_prefix, items.buffer, vendor.body_suffix))
    return vendor.body_prefix + vendor.body_separator.join(items) + vendor.body_suffix


class Deliverer:
    def __init__(
        self,
        vendor: Vendor,
        transport: Transport,
        policy: RetryPolicy,
        pacer: Pacer,
        counters: DeliveryCounters,
        warn: Callable[[str], None],
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        unit_random: Callable[[], float] = random.random,
    ) -> None:
        self._vendor = vendor
        self._transport = transport
        self._policy = policy
        self._pacer = pacer
        self._counters = counters
        self._warn = warn
        self._sleep = sleep
        self._clock = clock
        self._random = unit_random

    def deliver(self, items: Sequence[bytes]) -> BatchOutcome:
        """Send `items` until each is accepted or refused; halve refused batches to find the rows."""
        outcome = BatchOutcome()
        deadline = self._clock() + BATCH_TIME_LIMIT_SECONDS
        pending: deque[list[int]] = deque([list(range(len(items)))])
        while pending:
            if self._clock() > deadline:  # halving sends many requests, each answered slowly perhaps
                raise TransientSyncError(
                    f"{self._vendor.title} still had rows of a batch to settle after "
                    f"{BATCH_TIME_LIMIT_SECONDS / 60:.0f} minutes; {_OVER_TIME}"
                )
            rows = pending.popleft()
            try:
                verdict = self._settle(batch_call_for(self._vendor, items, rows), len(rows), deadline)
            except SyncError as error:  # its message may quote the vendor, who may quote the rows
                raise type(error)(scrub_sent_values(str(error), (items[row] for row in rows))) from None
            if isinstance(verdict, Accepted):
                continue
            if isinstance(verdict, RowsRefused):
                refused = {i for i in verdict.reasons if 0 <= i < len(rows)}
                for i in sorted(refused):
                    outcome.rejected.append((rows[i], scrub_sent_values(verdict.reasons[i], [items[rows[i]]])))
                remaining = [row for i, row in enumerate(rows) if i not in refused]
                if remaining and refused:
                    pending.appendleft(remaining)
                elif remaining:  # named no row of this request: fall back to halving
                    verdict = BatchRefused("the vendor refused the request without naming a row in it")
            if isinstance(verdict, BatchRefused):
                if len(rows) == 1:
                    outcome.rejected.append((rows[0], scrub_sent_values(verdict.reason, [items[rows[0]]])))
                else:
                    middle = len(rows) // 2
                    pending.appendleft(rows[middle:])
                    pending.appendleft(rows[:middle])
        return outcome

    def _settle(self, call: HttpCall, size: int, deadline: float) -> Verdict:
        verdict = self._exchange(
            call, lambda r: self._vendor.read_response(r.status, r.body, r.headers, size), deadline
        )
        if isinstance(verdict, JobPending):
            verdict = self._wait_for_job(verdict, deadline)
        return verdict

    def _wait_for_job(self, job: JobPending, deadline: float) -> Verdict:
        started = self._clock()
        interval = self._vendor.job_poll_interval_seconds
        verdict: Verdict = job
        while isinstance(verdict, JobPending):
            if self._clock() + interval > deadline:
                raise TransientSyncError(
                    f"{self._vendor.title} job {job.job_id} did not complete in {(self._clock() - started) / 60:.0f} "
                    f"minutes; {_OVER_TIME}"
                )
            self._sleep(interval)
            verdict = self._exchange(job.poll, lambda r: self._vendor.read_poll(r.status, r.body, job), deadline)
        return verdict

    def _exchange(self, call: HttpCall, read, deadline: float) -> Verdict:
        """One logical request: retried on Retry verdicts within the policy; Fatal raises."""
        started = self._clock()
        retry_number = busy_number = 0
        busy_since: float | None = None
        while True:
            self._pacer.wait_turn()
            self._counters.add(requests=1)
            try:
                verdict = read(self._transport.send(call))
            except TransportFailure as failure:
                verdict = Retry(str(failure))
            if isinstance(verdict, Retry) and verdict.busy:
                busy_number += 1
                busy_since = self._clock() if busy_since is None else busy_since
                self._sleep(self._busy_wait(verdict, busy_number, self._clock() - busy_since, deadline))
                started = self._clock()  # the retry budget counts from the end of the wait
                continue
            if isinstance(verdict, Retry):
                retry_number += 1
                elapsed = self._clock() - started
                wait = self._policy.wait_before(retry_number, parse_retry_after(verdict.retry_after), self._random())
                self._counters.add(rate_limited=int(verdict.rate_limited))
                if verdict.rate_limited:
                    self._pacer.slow_down()
                over_time = self._clock() + wait > deadline
                if retry_number >= self._policy.attempts or elapsed + wait > self._policy.budget_seconds or over_time:
                    raise TransientSyncError(
                        f"{self._vendor.title} still failing after {retry_number} attempt(s) over "
                        f"{elapsed:.1f}s: {verdict.reason}" + (f"; {_OVER_TIME}" if over_time else "")
                    )
                self._counters.add(retries=1)
                self._warn(
                    f"{verdict.reason}; retry {retry_number} of {self._policy.attempts - 1} in {wait:.2f}s"
                )
                self._sleep(wait)
                continue
            if isinstance(verdict, Fatal):
                raise sync_error(verdict.failure_type, verdict.reason)
            self._pacer.succeeded()
            return verdict

    def _busy_wait(self, verdict: Retry, busy_number: int, elapsed: float, deadline: float) -> float:
        """How long to wait for the vendor's earlier work: backoff, at least a job poll apart,
        within the batch's time (a 10,000-row Userpilot job takes about 8 minutes)."""
        wait = max(
            self._vendor.job_poll_interval_seconds,
            self._policy.wait_before(busy_number, parse_retry_after(verdict.retry_after), self._random()),
        )
        if self._clock() + wait > deadline:
            raise TransientSyncError(
                f"{self._vendor.title} stayed busy for {elapsed / 60:.0f} minutes: {verdict.reason}; {_OVER_TIME}"
            )
        self._counters.add(retries=1)
        self._warn(f"{verdict.reason}; waiting {wait:.2f}s for it to finish (busy for {elapsed:.0f}s so far)")
        return wait


_OVER_TIME = (
    f"a batch is given up after {BATCH_TIME_LIMIT_SECONDS / 60:.0f} minutes, before Airbyte's 2-hour destination "
    f"timeout; the STATEs echoed so far stand and the next attempt resumes from them"
)


def batch_call_for(vendor: Vendor, items: Sequence[bytes], rows: list[int]) -> HttpCall:
    if len(rows) == len(items):
        return vendor.batch_call(join_body(vendor, items))
    return vendor.batch_call(join_body(vendor, [items[i] for i in rows]))
