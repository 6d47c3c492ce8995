"""Showing untrusted values to people: links that are safe as an href, payloads as text.

Pure: no Flask, no database. What Cronofy relays (and what an invitee typed) is untrusted,
so the detail pages, the event log and the receiver all go through these two rules.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import urlsplit


def http_url(value: Any) -> str | None:
    """The value, stripped, if it is an absolute http(s) URL that is safe as an href.

    Never `javascript:` and the like; never a backslash (browsers read it as a slash, so
    "https:\\\\evil.example" leaves the host one sees) nor a control character.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if "\\" in text or any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return text
    return None


def decode_payload(body: bytes | None) -> tuple[Any, str]:
    """(parsed JSON or None, text to show): indented JSON, or the body made readable.

    NaN, Infinity and numbers too large for a float are kept as their text ("NaN"): JSON has
    no such numbers, so an answer that repeated them would not be JSON.
    """
    raw = body or b""
    try:
        parsed = json.loads(raw, parse_constant=str, parse_float=_finite_or_text)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, raw.decode("utf-8", errors="replace")
    return parsed, json.dumps(parsed, indent=2, ensure_ascii=False)


def _finite_or_text(text: str) -> float | str:
    value = float(text)
    return value if math.isfinite(value) else text


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 row', '2 rows', '1,234 tracked links': the count with the right form of the noun."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"
