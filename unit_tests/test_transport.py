"""The HTTP client against a real server on 127.0.0.1 that answers late: which timeout is which."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from destination_identify.transport import Transport, TransportFailure
from destination_identify.vendors.base import HttpCall

ANSWER_AFTER_SECONDS = 1.5


class LateAnswer(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(ANSWER_AFTER_SECONDS)
        self.send_response(202)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format, *args) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture
def late_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), LateAnswer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_slow_answer_within_the_read_timeout_is_read_however_short_the_connect_timeout(late_server):
    """A connect timeout (10 s at most) used as the read timeout would give up on slow bulk answers
    and send the batch again."""
    transport = Transport(late_server, {}, connect_timeout=0.5, read_timeout=10, pool_size=1)
    answer = transport.send(HttpCall("POST", "/v3/profiles", b"[]"))
    assert (answer.status, answer.body) == (202, b"{}")


def test_an_answer_later_than_the_read_timeout_is_a_transport_failure(late_server):
    transport = Transport(late_server, {}, connect_timeout=10, read_timeout=0.5, pool_size=1)
    with pytest.raises(TransportFailure, match="did not answer within the request timeout"):
        transport.send(HttpCall("POST", "/v3/profiles", b"[]"))
