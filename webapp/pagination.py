"""Opaque keyset cursors, shared by the pages and the JSON API.

Keyset (not offset) pagination keeps the cost of a page independent of how far in it is
and of the table's size. A cursor is the sort key of the last row shown, base64url-encoded.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

# Longer than any cursor this app makes (a timestamp and an id, base64url-encoded): anything
# longer is refused before decoding, so no client sends the JSON parser a deep structure.
MAX_CURSOR_LENGTH = 512


class InvalidCursor(ValueError):
    """The cursor was not made by this app (or was edited)."""


def encode_cursor(*key: Any) -> str:
    raw = json.dumps(list(key), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursor("cursor is not valid")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError, RecursionError) as exc:
        raise InvalidCursor("cursor is not valid") from exc
    if not isinstance(key, list) or len(key) != arity:
        raise InvalidCursor("cursor is not valid")
    for part in key:
        if not isinstance(part, (str, int)) or isinstance(part, bool):
            raise InvalidCursor("cursor is not valid")
    return key
