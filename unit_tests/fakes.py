"""Test doubles for the I/O edges only: the Transport, and time (clock + sleep)."""

from collections import deque
from typing import Callable

import orjson

from destination_identify.transport import Response, TransportFailure
from destination_identify.vendors.base import HttpCall


def response(status: int, body=b"", headers=None) -> Response:
    """A Response; dict/list bodies are serialized as JSON."""
    if not isinstance(body, bytes):
        body = orjson.dumps(body)
    return Response(status, body, {k.lower(): v for k, v in (headers or {}).items()})


class FakeTransport:
    """Answers each `send(call)` from a script (Response or TransportFailure, in order) or from a
    `responder(call)` function; records every call it was given."""

    def __init__(self, script=(), responder: Callable[[HttpCall], object] | None = None) -> None:
        self._script = deque(script)
        self._responder = responder
        self.calls: list[HttpCall] = []

    def send(self, call: HttpCall) -> Response:
        self.calls.append(call)
        answer = self._responder(call) if self._responder else self._script.popleft()
        if isinstance(answer, TransportFailure):
            raise answer
        return answer


class FakeTime:
    """A clock that only moves when something sleeps on it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
