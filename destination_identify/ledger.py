"""State bookkeeping: a STATE is released only when every record read before it is settled.

Records belong to the epoch of the STATEs seen before them (epoch k: after k STATEs). STATE k
closes epoch k; it is released, in order, once epoch k has no unsettled record (earlier epochs
were empty already when the earlier STATEs went out). Batches may settle in any order.

On release each STATE gets `destinationStats`: `recordCount`, the records delivered since the
previous STATE of the same stream (all streams, for global and legacy states), and
`rejectedRecordCount`, the records rejected in that window. Together they equal what the
platform sent, so its record-count checksum holds. Every other field, `id` included, is kept.
"""

from collections import defaultdict, deque
from typing import Any, Hashable

StreamKey = tuple[str | None, str]  # (namespace, name)


def stream_key(namespace: Any, name: str) -> StreamKey:
    """A stream's key as the catalog, records and STATEs all name it: an empty namespace is none.
    ValueError for a namespace that is not a string."""
    namespace = namespace or None
    if namespace is not None and not isinstance(namespace, str):
        raise ValueError("namespace is not a string")
    return (namespace, name)
_FROM_MESSAGE = object()


class StateLedger:
    def __init__(self) -> None:
        self.epoch = 0
        self._unsettled: dict[int, int] = defaultdict(int)
        self._delivered: dict[int, dict[Hashable, int]] = defaultdict(lambda: defaultdict(int))
        self._rejected: dict[int, dict[Hashable, int]] = defaultdict(lambda: defaultdict(int))
        self._waiting: deque[tuple[int, dict, Hashable | None]] = deque()
        self._since_delivered: dict[Hashable, int] = defaultdict(int)
        self._since_rejected: dict[Hashable, int] = defaultdict(int)

    # ---- records ---------------------------------------------------------------------------
    def opened(self, count: int = 1) -> int:
        """`count` more records of the current epoch are (or were) in flight; returns the epoch.

        May be told late, in one sum, as long as it is before the epoch's STATE: a settlement
        that comes first leaves the epoch's count below zero for a while, which nothing reads
        until its STATE is waiting, and by then every record of the epoch is counted."""
        self._unsettled[self.epoch] += count
        return self.epoch

    def delivered(self, epoch: int, stream: Hashable, count: int = 1) -> None:
        self._delivered[epoch][stream] += count
        self._unsettled[epoch] -= count

    def rejected(self, epoch: int, stream: Hashable, count: int = 1) -> None:
        self._rejected[epoch][stream] += count
        self._unsettled[epoch] -= count

    def rejected_unopened(self, stream: Hashable) -> None:
        """A record refused before it was ever in flight (schema, mapping)."""
        self._rejected[self.epoch][stream] += 1

    @property
    def unsettled(self) -> int:
        return sum(self._unsettled.values())

    # ---- states ----------------------------------------------------------------------------
    def state(self, message: dict, stream: Any = _FROM_MESSAGE) -> None:
        """STATE `message` closes the current epoch. `stream`: the key its records were counted
        under (the writer resolves a namespace-less match); by default, the state's own."""
        if stream is _FROM_MESSAGE:
            state = message.get("state")
            stream = stream_of_state(state) if isinstance(state, dict) else None
        self._waiting.append((self.epoch, message, stream))
        self.epoch += 1

    @property
    def waiting_states(self) -> int:
        return len(self._waiting)

    def releasable(self) -> list[dict]:
        """STATE messages whose records are all settled, in input order, with their stats."""
        released = []
        while self._waiting and self._unsettled.get(self._waiting[0][0], 0) == 0:
            epoch, message, stream = self._waiting.popleft()
            self._fold(epoch)
            released.append(self._with_stats(message, stream))
        return released

    def _fold(self, epoch: int) -> None:
        self._unsettled.pop(epoch, None)
        for stream, count in self._delivered.pop(epoch, {}).items():
            self._since_delivered[stream] += count
        for stream, count in self._rejected.pop(epoch, {}).items():
            self._since_rejected[stream] += count

    def _with_stats(self, message: dict, stream: Hashable | None) -> dict:
        state = message.get("state")
        if not isinstance(state, dict):
            return message
        if stream is None:  # global or legacy: the window covers every stream
            delivered = sum(self._since_delivered.values())
            rejected = sum(self._since_rejected.values())
            self._since_delivered.clear()
            self._since_rejected.clear()
        else:
            delivered = self._since_delivered.pop(stream, 0)
            rejected = self._since_rejected.pop(stream, 0)
        earlier = state.get("destinationStats")
        stats: dict[str, Any] = dict(earlier) if isinstance(earlier, dict) else {}
        stats["recordCount"] = float(delivered)
        stats["rejectedRecordCount"] = float(rejected)
        state["destinationStats"] = stats
        return message


def stream_of_state(state: dict) -> StreamKey | None:
    """The stream a STREAM state is about; None for GLOBAL and LEGACY states. ValueError, saying
    what is missing, for a STREAM state that names no stream."""
    if state.get("type") != "STREAM":
        return None
    stream = state.get("stream")
    descriptor = stream.get("stream_descriptor") if isinstance(stream, dict) else None
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("name"), str):
        raise ValueError("of type STREAM without a stream_descriptor naming its stream")
    try:
        return stream_key(descriptor.get("namespace"), descriptor["name"])
    except ValueError:
        raise ValueError("whose stream_descriptor's namespace is not a string") from None
