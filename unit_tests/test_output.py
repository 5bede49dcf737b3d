"""Output.close: after a fatal error the process ends while sender threads may still log; none of
them may be inside stdout's buffer then (CPython aborts the process at shutdown: exit -6)."""

import threading

from destination_identify.output import Output


class SlowStream:
    """A stdout whose write takes a while, and that says when one has begun."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.flushes_after_write = 0
        self.writing = threading.Event()

    def write(self, data: bytes) -> None:
        self.writing.set()
        threading.Event().wait(0.2)
        self.writes.append(data)
        self.flushes_after_write = 0

    def flush(self) -> None:
        self.flushes_after_write += 1


def test_a_write_under_way_finishes_before_close_and_later_writes_are_dropped():
    stream = SlowStream()
    out = Output(stream)
    sender = threading.Thread(target=out.warn, args=("Thrivestack answered 503; retry 1 of 2",))
    sender.start()
    assert stream.writing.wait(5)
    out.close()  # waits for the sender's write, which holds the output's lock
    assert len(stream.writes) == 1 and b"retry 1 of 2" in stream.writes[0]
    assert stream.flushes_after_write >= 1  # and what it wrote is flushed
    out.warn("a sender still retrying")
    out.state({"type": "STREAM"})
    out.error_trace("late", "system_error")
    assert len(stream.writes) == 1
    sender.join(5)
