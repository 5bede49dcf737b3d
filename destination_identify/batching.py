"""Size-capped batches of serialized items, with the bookkeeping each row needs later."""

from dataclasses import dataclass, field
from typing import Any

from destination_identify.vendors.base import BatchLimits


@dataclass
class Batch:
    """Serialized items, and per item `(stream, position, epoch)` to settle and report it."""

    items: list[bytes] = field(default_factory=list)
    refs: list[tuple[Any, int, int]] = field(default_factory=list)
    body_bytes: int = 0
    opened_at: float = 0.0


class BatchBuilder:
    """Fills batches that never exceed the vendor's record count or body-size cap."""

    def __init__(self, limits: BatchLimits, prefix: bytes, separator: bytes, suffix: bytes) -> None:
        self.limits = limits
        self._separator = len(separator)
        self._empty = len(prefix) + len(suffix)
        self.current = Batch(body_bytes=self._empty)

    def fits_alone(self, item: bytes) -> bool:
        return self._empty + len(item) <= self.limits.max_bytes

    def add(self, item: bytes, ref: tuple[Any, int, int], now: float) -> Batch | None:
        """Add an item (which must fit alone); returns the batch it closed, if any."""
        closed = None
        current = self.current
        grown = current.body_bytes + len(item) + (self._separator if current.items else 0)
        if current.items and (len(current.items) >= self.limits.max_records or grown > self.limits.max_bytes):
            closed = current
            current = self.current = Batch(body_bytes=self._empty)
            grown = self._empty + len(item)
        if not current.items:
            current.opened_at = now
        current.items.append(item)
        current.refs.append(ref)
        current.body_bytes = grown
        if len(current.items) >= self.limits.max_records and closed is None:
            closed, self.current = current, Batch(body_bytes=self._empty)
        return closed

    def take(self) -> Batch | None:
        """The partly filled batch, if any (for flushes)."""
        if not self.current.items:
            return None
        batch, self.current = self.current, Batch(body_bytes=self._empty)
        return batch
