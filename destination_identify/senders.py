"""A small pool of daemon threads that deliver batches while the main thread reads and maps.

Daemon threads, so a fatal error can end the process without waiting out a slow request. The
main thread bounds how many batches are in flight (backpressure): memory stays flat when the
vendor is slow.
"""

import queue
import threading
from typing import Any, Callable

_STOP = object()


class SenderPool:
    def __init__(self, deliver: Callable[[Any], Any], workers: int) -> None:
        self._deliver = deliver
        self._todo: queue.SimpleQueue = queue.SimpleQueue()
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self.in_flight = 0
        self._threads = [
            threading.Thread(target=self._work, name=f"sender-{n}", daemon=True) for n in range(max(workers, 1))
        ]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        while True:
            batch = self._todo.get()
            if batch is _STOP:
                return
            try:
                result = self._deliver(batch)
            except BaseException as error:  # handed to the main thread, which decides
                result = error
            self._done.put((batch, result))

    def submit(self, batch: Any) -> None:
        self.in_flight += 1
        self._todo.put(batch)

    def completed(self, timeout: float | None = 0.0) -> list[tuple[Any, Any]]:
        """Finished (batch, outcome-or-exception) pairs; waits up to `timeout` for the first
        (None: until one finishes, 0: not at all)."""
        finished = []
        if self.in_flight:
            try:
                if timeout == 0:
                    finished.append(self._done.get_nowait())
                else:
                    finished.append(self._done.get(timeout=timeout))
            except queue.Empty:
                return finished
            while True:
                try:
                    finished.append(self._done.get_nowait())
                except queue.Empty:
                    break
        self.in_flight -= len(finished)
        return finished

    def close(self) -> None:
        for _ in self._threads:
            self._todo.put(_STOP)
