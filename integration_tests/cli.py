"""Helpers for running the connector's CLI as a separate process against the vendor emulator.

Everything here is vendor-neutral plumbing: config and catalog files, generated input (records
of two streams, STATEs, invalid rows), running `main.py` with stdin from a file or a pipe, and
parsing stdout into Airbyte messages. The expected vendor payloads live in the tests.
"""

from __future__ import annotations

import copy
import json
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# One key every emulated vendor accepts. It has the Zaius private-key shape <public>.<secret>.
API_KEY = "idkPub7Q.s3cr3tZk82xW"
KEY_PARTS = (API_KEY, API_KEY.split(".")[1])

# 2024-01-15T10:30:00Z, and two later values: several emitted_at values in one run.
EMITTED_AT = (1705314600000, 1705314601500, 1705314603000)
EMITTED_AT_ISO = ("2024-01-15T10:30:00.000Z", "2024-01-15T10:30:01.500Z", "2024-01-15T10:30:03.000Z")

USERS = ("crm", "users")  # (namespace, name)
CONTACTS = (None, "contacts")

_STRING = {"type": ["null", "string"]}
RECORD_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "user_id": _STRING,
        "userId": _STRING,
        "contact_key": _STRING,
        "email": _STRING,
        "name": _STRING,
        "first_name": _STRING,
        "phone": _STRING,
        "company": {
            "type": ["null", "object"],
            "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
        },
        "address": {"type": ["null", "object"]},
        "plan": _STRING,
        "seats": {"type": ["null", "integer"]},
        "active": {"type": ["null", "boolean"]},
        "score": {"type": ["null", "number"]},
        "created_at": {"type": ["null", "string"], "format": "date-time"},
        "last_login_at": {"type": ["null", "string"], "format": "date-time"},
        "tags": {"type": ["null", "array"], "items": {"type": "string"}},
        "favorite color": _STRING,
        "nickname": _STRING,
    },
}


# --------------------------------------------------------------------------- files


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def connector_config(vendor: str, base_url: str, api_key: str = API_KEY, top: Optional[dict] = None, **options) -> dict:
    """A config with waits shortened through the config (never by patching code)."""
    vendor_options = {"vendor": vendor, "api_key": api_key, "base_url": base_url, **options}
    if vendor == "userpilot":
        vendor_options.setdefault("job_poll_interval_seconds", 0.02)
    config = {
        "vendor": vendor_options,
        "flush_interval_seconds": 0.5,
        "request_timeout_seconds": 10,
        "retry_wait_initial_seconds": 0.01,
        "retry_wait_max_seconds": 0.05,
        "max_retries": 8,
    }
    config.update(top or {})
    return config


def schema_of(name: str) -> dict:
    """Contacts are identified by their primary key `contact_key`: their schema has no user id
    column (one it declared would be the user id, and the key would never stand in for it)."""
    if name != "contacts":
        return RECORD_SCHEMA
    properties = {key: value for key, value in RECORD_SCHEMA["properties"].items() if key not in ("user_id", "userId")}
    return {**RECORD_SCHEMA, "properties": properties}


def configured_catalog(
    streams: Iterable[tuple[Optional[str], str]] = (USERS, CONTACTS), sync_mode: str = "append_dedup"
) -> dict:
    entries = []
    for namespace, name in streams:
        stream = {"name": name, "json_schema": schema_of(name), "supported_sync_modes": ["full_refresh", "incremental"]}
        if namespace:
            stream["namespace"] = namespace
        entries.append(
            {
                "stream": stream,
                "sync_mode": "incremental",
                "destination_sync_mode": sync_mode,
                "primary_key": [["contact_key"]] if name == "contacts" else [["user_id"]],
            }
        )
    return {"streams": entries}


# --------------------------------------------------------------------------- input


def write_messages(path: Path, messages: Iterable[dict]) -> Path:
    """One JSON message per line, as the platform pipes them into `write`."""
    with open(path, "wb") as handle:
        for message in messages:
            handle.write(json.dumps(message).encode() + b"\n")
    return path


def record_data(i: int, stream: tuple[Optional[str], str] = USERS) -> dict:
    """A valid row. Users carry `user_id` (or the alias `userId`); contacts only their primary
    key `contact_key`. Nulls, a zero, a false, a list and a key with a space on purpose."""
    if stream == CONTACTS:
        ids = {"contact_key": f"c{i:06d}"}
    elif i % 4 == 1:
        ids = {"userId": f"u{i:06d}"}
    else:
        ids = {"user_id": f"u{i:06d}"}
    data = {
        **ids,
        "email": f"user{i}@example.com",
        "name": f"Ada{i} King Lovelace",
        "phone": f"+1617555{i % 10000:04d}",
        "company": {"id": f"co{i % 40}", "name": f"Company {i % 40}"},
        "address": {"city": "Boston", "postal_code": "02101", "street2": None},
        "plan": "pro" if i % 3 else "free",
        "seats": i % 5,
        "active": i % 2 == 0,
        "score": 2.5,
        "created_at": "2024-01-15T10:30:00Z",
        "last_login_at": "2024-02-01T08:00:00+00:00",
        "tags": ["a", "b"],
        "favorite color": "blue",
        "nickname": None,
    }
    if i % 5 == 2:
        data["first_name"] = "Augusta"
    return data


def user_key_of(data: dict) -> str:
    return data.get("user_id") or data.get("userId") or data["contact_key"]


def record_message(stream: tuple[Optional[str], str], data: dict, emitted_at: int) -> dict:
    namespace, name = stream
    record = {"stream": name, "data": data, "emitted_at": emitted_at}
    if namespace:
        record["namespace"] = namespace
    return {"type": "RECORD", "record": record}


def state_message(stream: tuple[Optional[str], str], cursor: int, state_id: int, source_count: int) -> dict:
    namespace, name = stream
    descriptor = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "type": "STATE",
        "state": {
            "type": "STREAM",
            "stream": {"stream_descriptor": descriptor, "stream_state": {"cursor": cursor}},
            "sourceStats": {"recordCount": float(source_count)},
            "id": state_id,
        },
    }


@dataclass
class Row:
    index: int  # position in the whole input (0-based)
    stream: tuple[Optional[str], str]
    position: int  # position in its stream (1-based), as the connector reports it
    data: dict
    emitted_at: int
    kind: str  # "valid", "schema" (fails the stream schema) or "no_id"


@dataclass
class Scenario:
    """Generated input and what each STATE must say."""

    messages: list[dict] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    # per STATE, in input order: (input message, number of rows before it, expected stats)
    states: list[tuple[dict, int, dict]] = field(default_factory=list)
    state_positions: list[int] = field(default_factory=list)  # index of each STATE in messages

    @property
    def valid(self) -> list[Row]:
        return [row for row in self.rows if row.kind == "valid"]

    @property
    def invalid(self) -> list[Row]:
        return [row for row in self.rows if row.kind != "valid"]

    def write(self, path: Path) -> Path:
        return write_messages(path, self.messages)

    def expected_state(self, number: int) -> dict:
        message, _, stats = self.states[number]
        expected = copy.deepcopy(message)
        expected["state"]["destinationStats"] = stats
        return expected

    @property
    def expected_states(self) -> list[dict]:
        """Every STATE as the connector must echo it, in order."""
        return [self.expected_state(number) for number in range(len(self.states))]

    def rows_before_state(self, number: int) -> list[Row]:
        return self.rows[: self.states[number][1]]


def build_scenario(
    count: int,
    state_every: int,
    streams: tuple[tuple[Optional[str], str], ...] = (USERS, CONTACTS),
    schema_invalid: Callable[[int], bool] = lambda i: i % 97 == 5,
    no_id: Callable[[int], bool] = lambda i: i % 101 == 7,
    rejected_by_vendor: Callable[[int], bool] = lambda i: False,
) -> Scenario:
    """`count` records alternating over `streams`; after each block of `state_every` records a
    STATE for the first stream, and every second block one for each of the others too (so a
    STATE may cover several blocks of its stream). A last round of STATEs closes the input.

    `rejected_by_vendor(i)` marks valid rows the test makes the vendor refuse (poison ids): the
    STATE counts them as rejected."""
    scenario = Scenario()
    positions = {stream: 0 for stream in streams}
    since = {stream: [0, 0, 0] for stream in streams}  # delivered, rejected, read (source)
    state_id = 0

    def emit_state(stream) -> None:
        nonlocal state_id
        state_id += 1
        delivered, rejected, read = since[stream]
        message = state_message(stream, len(scenario.rows), state_id, read)
        stats = {"recordCount": float(delivered), "rejectedRecordCount": float(rejected)}
        scenario.state_positions.append(len(scenario.messages))
        scenario.messages.append(message)
        scenario.states.append((message, len(scenario.rows), stats))
        since[stream] = [0, 0, 0]

    for i in range(count):
        stream = streams[i % len(streams)]
        positions[stream] += 1
        if no_id(i):
            data, kind = {"name": "Nobody Known", "plan": "free", "nickname": None}, "no_id"
        else:
            data = record_data(i, stream)
            kind = "valid"
            if schema_invalid(i):
                data["seats"] = "many"
                kind = "schema"
        emitted_at = EMITTED_AT[i % len(EMITTED_AT)]
        row = Row(i, stream, positions[stream], data, emitted_at, kind)
        scenario.rows.append(row)
        scenario.messages.append(record_message(stream, data, emitted_at))
        counted = since[stream]
        counted[2] += 1
        if kind == "valid" and not rejected_by_vendor(i):
            counted[0] += 1
        else:
            counted[1] += 1
        if (i + 1) % state_every == 0:
            block = (i + 1) // state_every
            emit_state(streams[0])
            if block % 2 == 0:
                for other in streams[1:]:
                    emit_state(other)
    for stream in streams:  # close the input: a STATE for each stream with rows since its last
        if since[stream][2]:
            emit_state(stream)
    return scenario


# --------------------------------------------------------------------------- output


def parse_stdout(stdout: bytes) -> list[dict]:
    """Every stdout line must be one Airbyte message (a JSON object with a type)."""
    messages = []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        message = json.loads(line)
        assert isinstance(message, dict) and isinstance(message.get("type"), str), line[:200]
        messages.append(message)
    return messages


@dataclass
class CliResult:
    returncode: int
    stdout: bytes
    stderr: bytes
    messages: list[dict]

    def of_type(self, kind: str) -> list[dict]:
        return [m for m in self.messages if m["type"] == kind]

    @property
    def states(self) -> list[dict]:
        return self.of_type("STATE")

    @property
    def traces(self) -> list[dict]:
        return self.of_type("TRACE")

    def logs(self, level: Optional[str] = None) -> list[str]:
        return [m["log"]["message"] for m in self.of_type("LOG") if level in (None, m["log"]["level"])]

    @property
    def final_log(self) -> str:
        finished = [text for text in self.logs("INFO") if text.startswith("write finished:")]
        assert len(finished) == 1, self.logs()
        return finished[0]


def child_env() -> dict:
    """The environment of Airbyte's images: no PYTHONUNBUFFERED."""
    env = dict(os.environ)
    env.pop("PYTHONUNBUFFERED", None)
    return env


def cli_command(*args: str) -> list[str]:
    return [sys.executable, str(PROJECT_ROOT / "main.py"), *args]


def write_args(tmp_path: Path, config: dict, catalog: dict) -> list[str]:
    config_path = write_json(tmp_path / "config.json", config)
    catalog_path = write_json(tmp_path / "catalog.json", catalog)
    return ["write", "--config", str(config_path), "--catalog", str(catalog_path)]


def assert_no_key(*outputs: bytes, secrets: Iterable[str] = ()) -> None:
    for output in outputs:
        for part in (*KEY_PARTS, *secrets):
            assert part.encode() not in output, "an API key appeared in the connector's output"


def run_cli(
    args: list[str],
    stdin_path: Optional[Path] = None,
    on_message: Optional[Callable[[dict], None]] = None,
    timeout: float = 120,
    secrets: Iterable[str] = (),
) -> CliResult:
    """Run the CLI to completion with stdin from a file; `on_message` sees each stdout message
    the moment the connector flushes it (used to snapshot the emulator at each STATE)."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    stderr_file = open(_temp_stderr_path(), "w+b")
    try:
        process = subprocess.Popen(
            cli_command(*args), cwd=PROJECT_ROOT, stdin=stdin, stdout=subprocess.PIPE, stderr=stderr_file, env=child_env()
        )
        killer = threading.Timer(timeout, process.kill)
        killer.start()
        chunks = []
        try:
            for line in process.stdout:
                chunks.append(line)
                if on_message is not None and line.strip():
                    on_message(json.loads(line))
            returncode = process.wait()
        finally:
            killer.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
        assert returncode != -9, f"the connector did not finish within {timeout}s"
        stderr_file.seek(0)
        stderr = stderr_file.read()
    finally:
        if stdin_path:
            stdin.close()
        stderr_file.close()
        os.unlink(stderr_file.name)
    stdout = b"".join(chunks)
    assert_no_key(stdout, stderr, secrets=secrets)
    return CliResult(returncode, stdout, stderr, parse_stdout(stdout))


def _temp_stderr_path() -> str:
    handle, path = tempfile.mkstemp(prefix="destination-identify-stderr-", suffix=".log")
    os.close(handle)
    return path


class LiveCli:
    """The CLI with stdin as an open pipe, stdout read line by line in a thread.

    For tests that keep stdin open (flush interval), change the emulator mid-run, or kill the
    process. stderr goes to a file, so a chatty child can never block on a full pipe.
    """

    def __init__(self, args: list[str], stdin_path: Optional[Path] = None):
        self._stderr_path = Path(_temp_stderr_path())
        self._stderr = open(self._stderr_path, "w+b")
        self._stdin_file = open(stdin_path, "rb") if stdin_path else None
        self.process = subprocess.Popen(
            cli_command(*args),
            cwd=PROJECT_ROOT,
            stdin=self._stdin_file or subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=child_env(),
        )
        self.lines: queue.Queue = queue.Queue()
        self.raw: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.raw.append(line)
            if line.endswith(b"\n") and line.strip():
                self.lines.put(json.loads(line))
        self.lines.put(None)

    def send(self, messages: Iterable[dict]) -> bool:
        """Write messages to stdin; False if the connector had already exited (a broken pipe)."""
        try:
            self.process.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in messages))
            self.process.stdin.flush()
        except BrokenPipeError:
            return False
        return True

    def close_stdin(self) -> None:
        try:
            self.process.stdin.close()
        except BrokenPipeError:  # unflushed input the exited connector will never read
            pass

    def next_message(self, deadline: float, kind: Optional[str] = None) -> Optional[dict]:
        """The next stdout message (of `kind`), or None when `deadline` (monotonic) passes first
        or stdout ends."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                message = self.lines.get(timeout=remaining)
            except queue.Empty:
                return None
            if message is None:
                self.lines.put(None)
                return None
            if kind is None or message["type"] == kind:
                return message

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def finish(self, timeout: float = 60) -> CliResult:
        """Wait for the exit (killing it after `timeout`) and return everything it printed."""
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._reader.join(timeout=10)
        if self._stdin_file:
            self._stdin_file.close()
        elif not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        self._stderr.seek(0)
        stderr = self._stderr.read()
        self._stderr.close()
        self._stderr_path.unlink(missing_ok=True)
        stdout = b"".join(self.raw)
        complete = stdout if stdout.endswith(b"\n") or not stdout else stdout[: stdout.rfind(b"\n") + 1]
        assert_no_key(stdout, stderr)
        return CliResult(self.process.returncode, stdout, stderr, parse_stdout(complete))


def wait_until(condition: Callable[[], bool], timeout: float = 30, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
