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
        self._tail = b""  # the start of a line whose end has not arrived yet
        self._long_line: list[bytes] = []  # the parts of a line longer than a read, joined once it ends
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
            tail, self._tail = b"".join(self._long_line) + self._tail, b""
            return [tail] if tail.strip() else None
        if b"\n" not in chunk:  # a pipe gives 64 KiB a read: re-joining a long line each time is quadratic
            if self._tail:
                self._long_line.append(self._tail)
                self._tail = b""
            self._long_line.append(chunk)
            return []
        if self._long_line:
            self._long_line.append(self._tail)
            self._tail, self._long_line = b"".join(self._long_line), []
        data = self._tail + chunk if self._tail else chunk
        lines = data.split(b"\n")
        self._tail = lines.pop()
        return lines
