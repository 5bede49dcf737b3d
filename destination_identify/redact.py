"""Keep personal data out of anything we log that we did not write ourselves (vendor messages)."""

import re

_EMAIL = re.compile(r"[^\s@\"'<>(),;:]+@[^\s@\"'<>(),;:]+")
_LONG_NUMBER = re.compile(r"\+?\d[\d\s().-]{5,}\d")
_MAX_LENGTH = 300


def redact_vendor_text(text: str) -> str:
    """Vendors sometimes echo values back; mask emails and phone-like numbers, cap the length."""
    text = _EMAIL.sub("<email>", text)
    text = _LONG_NUMBER.sub("<number>", text)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_LENGTH else text[: _MAX_LENGTH - 1] + "…"
