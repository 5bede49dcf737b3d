"""Keep personal data out of anything we log that we did not write ourselves (vendor messages)."""

import re
from typing import Any, Iterable

import orjson

_EMAIL = re.compile(r"[^\s@\"'<>(),;:]{1,64}@[^\s@\"'<>(),;:]+")  # 64: a local part's limit, and linear time
_LONG_NUMBER = re.compile(r"\+?\d[\d\s().-]{5,}\d")
_MAX_LENGTH = 300
_MIN_SCRUBBED_LENGTH = 3  # shorter values ("US", "M") are not worth the words they would garble


def redact_vendor_text(text: str) -> str:
    """Vendors sometimes echo values back; mask emails and phone-like numbers, cap the length."""
    text = mask_emails(text)
    text = _LONG_NUMBER.sub("<number>", text)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_LENGTH else text[: _MAX_LENGTH - 1] + "…"


def mask_emails(text: str) -> str:
    """For our own messages too: a record's keys can be emails (a map keyed by contact)."""
    return _EMAIL.sub("<email>", text)


def scrub_sent_values(text: str, items: Iterable[bytes]) -> str:
    """A vendor message with every text value of the rows it is about masked as <value>: vendors
    echo names and addresses, which no pattern recognises, but we know what we sent."""
    values: set[str] = set()
    for item in items:
        _collect_text(orjson.loads(item), values)
    found = sorted((v for v in values if len(v) >= _MIN_SCRUBBED_LENGTH and v in text), key=len, reverse=True)
    for value in found:
        text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", "<value>", text)
    if text.endswith("…"):  # redact_vendor_text cut it: the start of a value may end it
        text = _mask_cut_value(text[:-1], values) + "…"
    return text


def _mask_cut_value(text: str, values: set[str]) -> str:
    """`text` with its last words masked when they begin one of `values`."""
    offset = max(len(text) - _MAX_LENGTH, 0)
    for match in re.finditer(r"(?<!\w)\w", text[offset:]):
        start = offset + match.start()
        tail = text[start:]
        if len(tail) >= _MIN_SCRUBBED_LENGTH and any(value.startswith(tail) for value in values):
            return text[:start] + "<value>"
    return text


def _collect_text(value: Any, into: set[str]) -> None:
    if isinstance(value, str):
        into.add(" ".join(value.split()))  # as redact_vendor_text leaves the vendor's echo of it
    elif isinstance(value, dict):
        for inner in value.values():
            _collect_text(inner, into)
    elif isinstance(value, list):
        for inner in value:
            _collect_text(inner, into)
