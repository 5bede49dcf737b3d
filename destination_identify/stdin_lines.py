"""Reading input lines in large chunks, with a timeout so quiet input still lets us flush.

Unlike iterating `sys.stdin`, this never blocks past the deadline the caller gives: the write
loop must release STATEs within flush_interval_seconds even while the source is silent.
"""

import os
import select


class LineReader:
    def __init__(self, fd: int, chunk_size: int = 1 << 20) -> None:
        self._fd = fd
        self._chunk_size = chunk_size
        self._unfinished: list[bytes] = []  # the start of a line whose end has not arrived, in parts
        self.eof = False

    def read(self, timeout: float | None) -> list[bytes] | None:
        """Complete lines available now (waiting up to `timeout`, None = forever); [] on timeout,
        None at end of input."""
        if self.eof:
            return None
        if timeout is not None:
            ready, _, _ = select.select([self._fd], [], [], max(timeout, 0.0))
            if not ready:
                return []
        chunk = os.read(self._fd, self._chunk_size)
        if not chunk:
            self.eof = True
            tail, self._unfinished = b"".join(self._unfinished), []
            return [tail] if tail.strip() else None
        if b"\n" not in chunk:  # joined once it ends: a pipe gives 64 KiB a read, re-joining each is quadratic
            self._unfinished.append(chunk)
            return []
        if self._unfinished:
            self._unfinished.append(chunk)
            chunk, self._unfinished = b"".join(self._unfinished), []
        lines = chunk.split(b"\n")
        tail = lines.pop()
        if tail:
            self._unfinished.append(tail)
        return lines
