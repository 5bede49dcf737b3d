"""The write loop: read messages, validate, map, batch, deliver, and release STATEs in order.

Only this module sequences the work; every step it calls is pure (mapping, batching, ledger) or
lives in the I/O shell (transport via delivery, stdout via output). It knows no vendor by name.
"""

import json
import re
import threading
import time
from collections import Counter
from typing import Any

import orjson

from destination_identify.batching import Batch, BatchBuilder
from destination_identify.catalog import StreamContext, load_streams
from destination_identify.config import REJECTED_RATIO_MIN_RECORDS, ConnectorConfig
from destination_identify.delivery import BatchOutcome, Deliverer, DeliveryCounters
from destination_identify.errors import ConfigError, RecordRejected
from destination_identify.ledger import StateLedger, stream_key, stream_of_state
from destination_identify.operations import bind_stream_maps
from destination_identify.output import Output
from destination_identify.redact import mask_emails
from destination_identify.retry import Pacer
from destination_identify.senders import SenderPool
from destination_identify.stdin_lines import LineReader
from destination_identify.transport import Transport
from destination_identify.values import exact_json

LOGGED_REJECTIONS_PER_STREAM = 1000
PROGRESS_EVERY_SECONDS = 60.0
IDLE_POLL_SECONDS = 0.05
UNKNOWN_STREAM_REASON = "stream is not in the configured catalog"
NOT_SERIALIZABLE = "a value cannot be serialized as JSON"
TOO_DEEP = "a value is nested too deeply to map"
TOO_DEEP_TO_EXPLAIN = "schema: invalid, and a value is nested too deeply to say where"
# Airbyte's CDC sources mark a row deleted in the database with this column.
CDC_DELETED_AT = "_ab_cdc_deleted_at"
DELETED_IN_SOURCE = (
    "deleted in the source (_ab_cdc_deleted_at is set): an identify call cannot delete a user, "
    "and sending the row would create or refresh one"
)


class StopRequested(Exception):
    """Raised inside a sender's sleep when the sync is stopping."""


class Writer:
    def __init__(self, config: ConnectorConfig, catalog: Any, output: Output) -> None:
        self.config = config
        self.vendor = config.vendor
        self.out = output
        self.streams = load_streams(catalog, output.warn, self.vendor)  # one context each, for reports
        self._contexts = dict(self.streams)  # lookups, namespace-less matches included
        self.ledger = StateLedger()
        self.builder = BatchBuilder(
            self.vendor.limits, self.vendor.body_prefix, self.vendor.body_separator, self.vendor.body_suffix
        )
        self.counters = DeliveryCounters()
        self.malformed = 0
        self.deleted_in_source = 0  # rejected, but not a sign of a wrong mapping: outside the ratio
        self._stopping = threading.Event()
        self._started = time.monotonic()
        self._next_progress = self._started + PROGRESS_EVERY_SECONDS
        self._max_in_flight = config.concurrency * 2
        base_map = config.mapper.map if config.mapper.active else self.vendor.map_record
        bind_stream_maps(self.streams, self.vendor, base_map)
        self.dry_run = config.dry_run
        self._previews_left = config.dry_run_preview_count if config.dry_run else 0
        self.batches = 0
        self.withheld_states = 0  # dry run only
        self.deliverer: Deliverer | None = None
        if not self.dry_run:  # a dry run opens no connection at all
            transport = Transport(
                self.vendor.base_url,
                self.vendor.headers(),
                config.connect_timeout_seconds,
                config.read_timeout_seconds,
                config.concurrency,
            )
            self.deliverer = Deliverer(
                self.vendor,
                transport,
                config.retry,
                Pacer(self.vendor.requests_per_second),
                self.counters,
                warn=output.warn,
                sleep=self._sleep_unless_stopping,
            )
        self.pool: SenderPool | None = None

    # ---- the loop --------------------------------------------------------------------------
    def _deliver(self, batch: Batch) -> BatchOutcome:
        return self.deliverer.deliver(batch.items)

    @staticmethod
    def _accept_without_sending(batch: Batch) -> BatchOutcome:
        """The dry run's sender: every batch counts as accepted, nothing leaves the process."""
        return BatchOutcome()

    def run(self, reader: LineReader) -> None:
        deliver = self._accept_without_sending if self.dry_run else self._deliver
        self.pool = SenderPool(deliver, self.config.concurrency)
        try:
            self._read_all(reader)
            self._dispatch(self.builder.take())
            while self.pool.in_flight:
                self._settle_completed(timeout=None)
            self._release_states()
        finally:
            self._stopping.set()
            self.pool.close()
        self._final_report()

    def _read_all(self, reader: LineReader) -> None:
        flush_after = self.config.flush_interval_seconds
        line_number = 0
        while True:
            lines = reader.read(self._read_timeout())
            if lines is None:
                return
            now = time.monotonic()
            self._take_lines(lines, line_number, now)
            line_number += len(lines)
            self._settle_completed(timeout=0)
            current = self.builder.current
            if current.positions and now - current.opened_at >= flush_after:
                self._dispatch(self.builder.take())
            self._release_states()
            if now >= self._next_progress:
                self._progress(now)

    def _read_timeout(self) -> float | None:
        """Wake up in time to flush a waiting batch, and often enough to release STATEs."""
        if self.builder.current.positions:
            due = self.builder.current.opened_at + self.config.flush_interval_seconds - time.monotonic()
            return max(0.0, min(due, IDLE_POLL_SECONDS if self.pool.in_flight else due))
        if self.pool.in_flight or self.ledger.waiting_states:
            return IDLE_POLL_SECONDS
        return max(0.0, self._next_progress - time.monotonic())

    # ---- the messages of one read ----------------------------------------------------------
    def _take_lines(self, lines: list[bytes], line_number: int, now: float) -> None:
        """The hot loop: every record of a read, parsed, validated, mapped and batched. Names are
        bound locally and the common path is inline; anything unusual goes to a method."""
        loads, dumps, decode_error = orjson.loads, orjson.dumps, orjson.JSONDecodeError
        contexts, ledger, builder = self._contexts, self.ledger, self.builder
        max_item_bytes = builder.max_item_bytes
        run_stream, run_epoch = builder.run
        epoch = ledger.epoch
        deleted_at = CDC_DELETED_AT
        opened = 0  # records batched in this epoch, told to the ledger before its STATE
        for line in lines:
            line_number += 1
            try:
                message = loads(line)
            except decode_error as error:
                if line.strip():
                    self._unparsable(line, line_number, error)
                continue
            if message.__class__ is not dict:
                self._malformed(line_number, "not a JSON object")
                continue
            kind = message.get("type")
            if kind != "RECORD":
                if kind == "STATE":
                    ledger.opened(opened)
                    opened = 0
                    self._handle_state(message, line_number)
                    epoch = ledger.epoch
                continue  # LOG, TRACE and other messages are not ours to act on.
            record = message.get("record")
            name = record.get("stream") if record.__class__ is dict else None
            if name.__class__ is not str:
                self._malformed(line_number, "RECORD message without a 'record' object naming its stream")
                continue
            key = (record.get("namespace") or None, name)
            try:
                stream = contexts.get(key) or self._unknown_stream(key)
            except (TypeError, ValueError):  # a namespace that cannot be a key, or is not a string
                self._malformed(line_number, "RECORD message whose namespace is not a string")
                continue
            stream.read += 1
            position = stream.read
            data = record.get("data")
            if stream.refusal is not None:
                self._refuse(stream, position)
                continue
            if data.__class__ is not dict:
                self._reject_now(stream, position, "record data is not a JSON object")
                continue
            if data.get(deleted_at) is not None:
                self._reject_deleted(stream, position)
                continue
            if stream.validator is not None and not stream.validator.is_valid(data):
                if self._rejected_by_schema(stream, position, data):
                    continue
            try:
                item = dumps(stream.map(data, record.get("emitted_at"), stream.user_id_field))
            except RecordRejected as rejection:
                if not _LONG_NUMBER.search(line):
                    self._reject_now(stream, position, rejection.reason)
                    continue
                item = self._exactly(stream, position, line)  # an identifier orjson rounded?
                if item is None:
                    continue
            except (TypeError, RecursionError) as error:  # recursion: hundreds of levels deep
                self._reject_now(stream, position, failure_reason(error))
                continue
            if len(item) > max_item_bytes:
                self._reject_now(stream, position, self._too_large(item))
                continue
            if self._previews_left:
                self._preview(stream, position, item)
            if stream is not run_stream or epoch != run_epoch:
                builder.start_run(stream, epoch)
                run_stream, run_epoch = stream, epoch
            opened += 1
            closed = builder.add(item, position, now)
            if closed is not None:
                self._dispatch(closed)
        ledger.opened(opened)

    def _exactly(self, stream: StreamContext, position: int, line: bytes) -> bytes | None:
        """orjson reads an integer past 64 bits (a warehouse's NUMBER(38)) as a rounded float,
        which an identifier refuses: a rejected record whose line has 19 digits in a row is
        mapped again from the standard library's parse, which keeps integers exact, so such an
        identifier is sent as its digits. None if the record is still rejected (reported here).
        (Other numbers past 64 bits go as orjson reads them, as in airbyte-cdk: finding them on
        every record would cost about 3% of the write loop.)"""
        record = json.loads(line)["record"]
        data = record["data"]
        if stream.validator is not None and not stream.validator.is_valid(data):
            if self._rejected_by_schema(stream, position, data):
                return None
        try:
            mapped = stream.map(data, record.get("emitted_at"), stream.user_id_field)
            return exact_json(mapped).encode()
        except (RecordRejected, TypeError, ValueError, RecursionError) as error:
            self._reject_now(stream, position, failure_reason(error))
        return None

    def _too_large(self, item: bytes) -> str:
        """Counts the request's own bytes too (Thrivestack's `[` and `]`): an item just under the
        cap still cannot go."""
        alone = len(item) + self.builder.overhead_bytes
        return f"too large: {alone} bytes as a request of its own, over the vendor's {self.vendor.limits.max_bytes} byte cap"

    def _handle_state(self, message: dict, line_number: int) -> None:
        state = message.get("state")
        if not isinstance(state, dict):
            self._malformed(line_number, "STATE message without a 'state' object")
            return
        try:
            key = stream_of_state(state)
        except ValueError as problem:
            self._malformed(line_number, f"STATE message {problem}")
            return
        if key is not None:  # count its window under the stream its records were counted under
            known = self._contexts.get(key) or self._namespace_match(key)
            key = known.key if known is not None else key
        self.ledger.state(message, key)
        self._release_states()

    def _unparsable(self, line: bytes, line_number: int, error: orjson.JSONDecodeError) -> None:
        """A line that is not JSON. One that reads as a RECORD naming its stream (cut short, or
        with bytes that are not UTF-8) is that stream's rejected record, so the next STATE's
        destinationStats still add up to what the source sent; any other is a malformed line."""
        why = f"not valid JSON ({error.msg})"
        key = stream_named_in(line)
        if key is None:
            self._malformed(line_number, why)
            return
        stream = self._contexts.get(key) or self._unknown_stream(key)
        stream.read += 1
        if stream.refusal is not None:
            self._refuse(stream, stream.read)
        else:
            self._reject_now(stream, stream.read, why)  # no line number: one reason for them all

    def _unknown_stream(self, key: tuple[str | None, str]) -> StreamContext:
        """A record for a stream missing from the catalog: namespace-less match, else rejected.
        Remembered either way, so the catalog is scanned once per key. ValueError for a namespace
        that is not a string."""
        stream_key(*key)
        stream = self._namespace_match(key)
        if stream is None:
            stream = self.streams[key] = StreamContext(key, None, None, refusal=UNKNOWN_STREAM_REASON)
        self._contexts[key] = stream
        return stream

    def _namespace_match(self, key: tuple[str | None, str]) -> StreamContext | None:
        """The stream of the same name where one side has no namespace."""
        for known_key, stream in self.streams.items():
            if known_key[1] == key[1] and (key[0] is None or known_key[0] is None):
                return stream
        return None

    # ---- batches in flight -----------------------------------------------------------------
    def _dispatch(self, batch: Batch | None) -> None:
        if batch is None:
            return
        self.batches += 1
        while self.pool.in_flight >= self._max_in_flight:
            self._settle_completed(timeout=None)
        self.pool.submit(batch)

    def _settle_completed(self, timeout: float | None) -> None:
        for batch, result in self.pool.completed(timeout):
            if isinstance(result, BaseException):
                raise result
            self._settle(batch, result)

    def _settle(self, batch: Batch, outcome: BatchOutcome) -> None:
        if not outcome.rejected:  # the usual case: every run delivered as a whole
            for stream, epoch, count in batch.run_counts():
                stream.delivered += count
                self.ledger.delivered(epoch, stream.key, count)
            return
        refused = dict(outcome.rejected)
        delivered: dict[tuple[int, Any], int] = {}
        for index, (stream, position, epoch) in enumerate(batch.refs):
            reason = refused.get(index)
            if reason is None:
                stream.delivered += 1
                slot = (epoch, stream.key)
                delivered[slot] = delivered.get(slot, 0) + 1
            else:
                self.ledger.rejected(epoch, stream.key)
                self._report_rejection(stream, position, reason)
        for (epoch, key), count in delivered.items():
            self.ledger.delivered(epoch, key, count)

    def _release_states(self) -> None:
        for state in self.ledger.releasable():
            if self.dry_run:  # nothing was sent: echoing it would move the source's checkpoint past it
                self.withheld_states += 1
            else:
                self.out.state(state)

    # ---- rejections ------------------------------------------------------------------------
    def _refuse(self, stream: StreamContext, position: int) -> None:
        """A record of a stream whose records we cannot take: rejected, or the sync stops."""
        if stream.refusal_stops_sync:
            raise ConfigError(stream.refusal)
        self._reject_now(stream, position, stream.refusal)

    def _reject_now(self, stream: StreamContext, position: int, reason: str) -> None:
        self.ledger.rejected_unopened(stream.key)
        self._report_rejection(stream, position, reason)

    def _reject_deleted(self, stream: StreamContext, position: int) -> None:
        self.deleted_in_source += 1
        self._reject_now(stream, position, DELETED_IN_SOURCE)

    def _rejected_by_schema(self, stream: StreamContext, position: int, data: dict) -> bool:
        """A record jsonschema-rs found invalid: rejected (True) with the reference's reasons, or
        False if the reference finds it valid (they differ on `pattern`'s regex rules) and it goes
        on to be mapped and sent."""
        try:
            reasons = stream.validator.why_invalid(data)
        except RecursionError:  # the reference cannot decide: jsonschema-rs's verdict stands
            self._reject_now(stream, position, TOO_DEEP_TO_EXPLAIN)
            return True
        if reasons is None:
            return False
        self._reject_now(stream, position, "schema: " + reasons)
        return True

    def _report_rejection(self, stream: StreamContext, position: int, reason: str) -> None:
        reason = mask_emails(reason)  # a schema path or a flattened key can be an email
        stream.rejected += 1
        stream.count_reason(reason)
        if stream.logged_rejections < LOGGED_REJECTIONS_PER_STREAM:
            stream.logged_rejections += 1
            self.out.warn(f"rejected record {position} of stream '{stream.label}': {reason}")
            if stream.logged_rejections == LOGGED_REJECTIONS_PER_STREAM:
                self.out.warn(f"stream '{stream.label}': further rejections are counted in the final report only")
        self._check_rejected_ratio()

    def _malformed(self, line_number: int, why: str) -> None:
        self.malformed += 1
        self.out.warn(f"input line {line_number} is not a valid Airbyte message ({why}); skipped and counted")
        self._check_rejected_ratio()

    def _check_rejected_ratio(self) -> None:
        """Rows deleted in the source are rejected by design: they count neither way here."""
        read = self._total("read") + self.malformed - self.deleted_in_source
        if read < REJECTED_RATIO_MIN_RECORDS:
            return
        rejected = self._total("rejected") + self.malformed - self.deleted_in_source
        if rejected / read > self.config.max_rejected_ratio:
            raise ConfigError(
                f"{rejected} of the first {read} records were rejected, more than max_rejected_ratio "
                f"({self.config.max_rejected_ratio:g}); the mapping or the source is likely wrong. "
                f"Top reasons: {self._top_reasons(3)}"
            )

    def _top_reasons(self, limit: int) -> str:
        merged: Counter = Counter()
        for stream in self.streams.values():
            merged.update(stream.reasons)
        return reason_summary(merged, limit, "; ") or "none"

    def _total(self, count: str) -> int:
        """`read`, `delivered` or `rejected`, summed over the streams."""
        return sum(getattr(stream, count) for stream in self.streams.values())

    # ---- reporting -------------------------------------------------------------------------
    def _progress(self, now: float) -> None:
        self._next_progress = now + PROGRESS_EVERY_SECONDS
        read = self._total("read")
        delivered = self._total("delivered")
        rate = read / max(now - self._started, 1e-9)
        self.out.info(f"progress: {read} records read, {delivered} delivered, {rate:.0f} records/s")

    def _preview(self, stream: StreamContext, position: int, item: bytes) -> None:
        """Dry run only (no previews are left otherwise): the user asked to see what would be
        sent, values included."""
        self._previews_left -= 1
        number = self.config.dry_run_preview_count - self._previews_left
        self.out.info(
            f"dry run payload {number} (record {position} of stream '{stream.label}'): "
            + item.decode("utf-8", "replace")
        )

    def _dry_run_summary(self) -> None:
        read = self._total("read")
        valid = self._total("delivered")
        rejected = self._total("rejected")
        self.out.info(
            f"dry run summary: nothing was sent (0 requests). {read} records seen, {valid} valid, "
            f"{rejected} rejected (by reason: {self._top_reasons(10)}); {self.batches} batches would be sent "
            f"(at most {self.vendor.limits.max_records} records or {self.vendor.limits.max_bytes} bytes each); "
            f"{self.malformed} malformed input lines; {self.withheld_states} STATE messages withheld, so the "
            f"source's checkpoint does not move past records that were not sent"
        )

    def report_after_failure(self) -> None:
        """What was settled before a fatal error; the STATEs already echoed stay true."""
        self._final_report()

    def _final_report(self) -> None:
        if self.dry_run:
            self._dry_run_summary()
        elapsed = time.monotonic() - self._started
        read = self._total("read")
        for stream in self.streams.values():
            reasons = reason_summary(stream.reasons, 5, ", ")
            self.out.info(
                f"stream '{stream.label}': {stream.read} read, {stream.delivered} "
                f"{'valid (dry run: not sent)' if self.dry_run else 'delivered'}, "
                f"{stream.rejected} rejected" + (f" (top reasons: {reasons})" if reasons else "")
            )
        self.out.info(
            f"write finished: {read} records in {elapsed:.1f}s ({read / max(elapsed, 1e-9):.0f} records/s); "
            f"{self.counters.requests} requests, {self.counters.retries} retries, "
            f"{self.counters.rate_limited} rate-limited (429); {self.malformed} malformed input lines"
        )

    def _sleep_unless_stopping(self, seconds: float) -> None:
        if self._stopping.wait(seconds):
            raise StopRequested()


_LONG_NUMBER = re.compile(rb"[0-9]{19}")  # the shortest integer orjson rounds: -9223372036854775809
_RECORD_START = re.compile(rb'\s*\{\s*"type"\s*:\s*"RECORD"')  # as the platform writes it: type first
_DATA_KEY = re.compile(rb'"data"\s*:')
_NAME_FIELD = re.compile(rb'"(stream|namespace)"\s*:\s*"((?:[^"\\]|\\.)*)"')


def stream_named_in(line: bytes) -> tuple[str | None, str] | None:
    """(namespace, stream) of a line that is not JSON but starts as a RECORD, from the `"stream"`
    and `"namespace"` strings before its `"data"` key (where the protocol writes them; a field
    of the data must not name the stream)."""
    if not _RECORD_START.match(line):
        return None
    data = _DATA_KEY.search(line)
    found: dict[bytes, str] = {}
    for match in _NAME_FIELD.finditer(line, 0, data.start() if data else len(line)):
        field, raw = match.groups()
        if field not in found:
            try:
                found[field] = orjson.loads(b'"' + raw + b'"')
            except orjson.JSONDecodeError:  # a name that is not UTF-8 names no stream of ours
                return None
    name = found.get(b"stream")
    return None if name is None else (found.get(b"namespace") or None, name)


def failure_reason(error: Exception) -> str:
    """Why mapping and serializing a record failed, for its rejection: the mapping's own reason,
    a value JSON cannot hold (TypeError from orjson; ValueError, e.g. NaN, from json), or a value
    nested deeper than Python recurses (orjson parses up to 1,024 levels)."""
    if isinstance(error, RecordRejected):
        return error.reason
    return TOO_DEEP if isinstance(error, RecursionError) else NOT_SERIALIZABLE


def reason_summary(reasons: Counter, limit: int, separator: str) -> str:
    """The most frequent rejection reasons: '3 x schema: ...; 1 x no user id'."""
    return separator.join(f"{count} x {reason}" for reason, count in reasons.most_common(limit))
