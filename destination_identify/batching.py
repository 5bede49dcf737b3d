"""Size-capped batches of serialized items, with the bookkeeping each row needs later."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from destination_identify.vendors.base import BatchLimits


class PackedItems(Sequence):
    """Serialized items copied into one buffer, already joined by the vendor's separator.

    Why not a list of the bytes orjson returns: each of those keeps an allocation of about
    8 KiB whatever its length, so a Userpilot batch of 10,000 items held 80 MiB. Copied here,
    a batch costs its body size, and the full request body is one concatenation away.
    """

    __slots__ = ("buffer", "separator", "ends")

    def __init__(self, separator: bytes, items: Sequence[bytes] = ()) -> None:
        """Items are added by BatchBuilder.add, which appends to `buffer` and `ends` in place."""
        self.buffer = bytearray(separator.join(items))
        self.separator = separator
        self.ends: list[int] = []  # where each item ends in `buffer`
        end = -len(separator)
        for item in items:
            end += len(separator) + len(item)
            self.ends.append(end)

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        end = self.ends[index]
        position = index if index >= 0 else len(self.ends) + index
        start = self.ends[position - 1] + len(self.separator) if position else 0
        return bytes(self.buffer[start:end])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)


@dataclass
class Batch:
    """Serialized items, and what settling and reporting them needs: each item's position in
    its stream, and `runs` of consecutive items of one stream and epoch, as `(stream, epoch,
    index of the run's first item)` (a fully accepted batch settles per run, not per record)."""

    items: PackedItems
    body_bytes: int
    positions: list[int] = field(default_factory=list)
    runs: list[tuple[Any, int, int]] = field(default_factory=list)
    opened_at: float = 0.0

    def run_counts(self) -> list[tuple[Any, int, int]]:
        """`(stream, epoch, count)` per run."""
        starts = [start for _, _, start in self.runs[1:]] + [len(self.positions)]
        return [(stream, epoch, end - start) for (stream, epoch, start), end in zip(self.runs, starts)]

    @property
    def refs(self) -> list[tuple[Any, int, int]]:
        """`(stream, position, epoch)` per item, for the rare batch with refused rows."""
        refs = []
        index = 0
        for stream, epoch, count in self.run_counts():
            refs.extend((stream, position, epoch) for position in self.positions[index : index + count])
            index += count
        return refs


class BatchBuilder:
    """Fills batches that never exceed the vendor's record count or body-size cap.

    The caller says when the stream or epoch of the coming items changes (`start_run`) rather
    than passing them with every item: the write loop adds about 100,000 items a second."""

    def __init__(self, limits: BatchLimits, prefix: bytes, separator: bytes, suffix: bytes) -> None:
        self._max_records = limits.max_records
        self._max_bytes = limits.max_bytes
        self._separator_bytes = separator
        self._separator = len(separator)
        self.overhead_bytes = len(prefix) + len(suffix)  # a request body's own bytes (Thrivestack's `[` `]`)
        self.max_item_bytes = limits.max_bytes - self.overhead_bytes
        self.run: tuple[Any, int] = (None, -1)  # (stream, epoch) of the items being added
        self.current = self._new_batch()

    def _new_batch(self) -> Batch:
        """An empty batch whose first items continue the current run."""
        batch = Batch(items=PackedItems(self._separator_bytes), body_bytes=self.overhead_bytes)
        batch.runs.append((*self.run, 0))
        return batch

    def start_run(self, stream: Any, epoch: int) -> None:
        """The items added next belong to `stream` and `epoch`."""
        self.run = (stream, epoch)
        runs, start = self.current.runs, len(self.current.positions)
        if runs[-1][2] == start:  # the previous run got no item here (every batch starts with one)
            runs[-1] = (stream, epoch, start)
        else:
            runs.append((stream, epoch, start))

    def add(self, item: bytes, position: int, now: float) -> Batch | None:
        """Add an item (at most max_item_bytes long) of the current run; returns the batch it
        closed, if any. A batch closes as soon as it holds max_records, so only the byte cap can
        close one before an item is added."""
        closed = None
        current = self.current
        count = len(current.positions)
        if count:
            grown = current.body_bytes + self._separator + len(item)
            if grown > self._max_bytes:
                closed = current
                current = self.current = self._new_batch()
                count = 0
        if not count:
            grown = self.overhead_bytes + len(item)
            current.opened_at = now
        items = current.items
        buffer = items.buffer
        if count:
            buffer += self._separator_bytes
        buffer += item
        items.ends.append(len(buffer))
        current.positions.append(position)
        current.body_bytes = grown
        if count + 1 >= self._max_records:
            closed, self.current = current, self._new_batch()
        return closed

    def take(self) -> Batch | None:
        """The partly filled batch, if any (for flushes)."""
        if not self.current.positions:
            return None
        batch, self.current = self.current, self._new_batch()
        return batch
