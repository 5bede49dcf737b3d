"""The only code that does network I/O: one pooled urllib3 connection pool per vendor host.

urllib3 rather than requests: a quarter of the client CPU per request, and its own retries are
switched off (it would not retry POST anyway) because delivery.py owns the retry policy.
"""

from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from destination_identify import __version__
from destination_identify.vendors.base import HttpCall


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: Mapping[str, str]  # lower-case names


class TransportFailure(Exception):
    """No HTTP answer: refused, unreachable, timed out or dropped. Message names the host only."""


class Transport:
    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        connect_timeout: float,
        read_timeout: float,
        pool_size: int,
    ) -> None:
        parts = urlsplit(base_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._prefix = parts.path.rstrip("/")
        self._headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"destination-identify/{__version__}",
            **headers,
        }
        self._pool = urllib3.PoolManager(
            num_pools=2,
            maxsize=max(pool_size, 1),
            block=False,
            retries=False,
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        )

    def send(self, call: HttpCall) -> Response:
        url = f"{self._origin}{self._prefix}{call.path}"
        try:
            answer = self._pool.request(
                call.method,
                url,
                body=call.body,
                headers=self._headers,
                redirect=False,
                retries=False,
                preload_content=True,
            )
        except (ConnectTimeoutError, NewConnectionError) as error:
            raise TransportFailure(f"cannot reach {self._origin}: {_short(error)}") from None
        except ReadTimeoutError:
            raise TransportFailure(f"{self._origin} did not answer within the request timeout") from None
        except ProtocolError:
            raise TransportFailure(f"{self._origin} dropped the connection") from None
        except HTTPError as error:
            raise TransportFailure(f"request to {self._origin} failed: {type(error).__name__}") from None
        headers = {name.lower(): value for name, value in answer.headers.items()}
        return Response(answer.status, answer.data or b"", headers)

    def close(self) -> None:
        self._pool.clear()


def _short(error: Exception) -> str:
    text = str(error)
    for marker in ("Connection refused", "Name or service not known", "timed out", "No route to host"):
        if marker.lower() in text.lower():
            return marker.lower()
    return type(error).__name__
