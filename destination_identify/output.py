"""Airbyte messages to stdout: STATE, LOG and TRACE, serialized with orjson.

stdout is flushed after every STATE: Airbyte's images do not set PYTHONUNBUFFERED, and a STATE
sitting in a buffer is a checkpoint the platform never sees. Log text is masked for secrets as
a last guard (our own messages never include values to begin with).
"""

import sys
import threading
import time
from typing import BinaryIO, Iterable

import orjson

MASK = "****"


class Output:
    def __init__(self, stream: BinaryIO | None = None, secrets: Iterable[str] = ()) -> None:
        self._stream = stream if stream is not None else sys.stdout.buffer
        self._secrets = [secret for secret in secrets if secret]
        self._lock = threading.Lock()
        self._closed = False

    def add_secret(self, secret: str) -> None:
        if secret:
            self._secrets.append(secret)

    def _write(self, message: dict, flush: bool) -> None:
        line = orjson.dumps(message) + b"\n"
        with self._lock:
            if self._closed:
                return
            self._stream.write(line)
            if flush:
                self._stream.flush()

    def state(self, message: dict) -> None:
        self._write(message, flush=True)

    def log(self, level: str, text: str) -> None:
        self._write({"type": "LOG", "log": {"level": level, "message": self.mask(text)}}, flush=level != "INFO")

    def info(self, text: str) -> None:
        self.log("INFO", text)

    def warn(self, text: str) -> None:
        self.log("WARN", text)

    def error_trace(self, text: str, failure_type: str, internal: str | None = None) -> None:
        error = {"message": self.mask(text), "failure_type": failure_type}
        if internal:
            error["internal_message"] = self.mask(internal)
        self._write(
            {"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": time.time() * 1000, "error": error}},
            flush=True,
        )

    def flush(self) -> None:
        with self._lock:
            self._stream.flush()

    def close(self) -> None:
        """The last word is said: writes after it are dropped. A sender thread still retrying as
        the process ends (after a fatal error) must not be inside stdout's buffer when the
        interpreter shuts down: CPython then aborts the process (SIGABRT, exit -6) instead of
        exiting with our code. A writer already inside finishes first: it holds our lock."""
        with self._lock:
            self._closed = True
            self._stream.flush()

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text
