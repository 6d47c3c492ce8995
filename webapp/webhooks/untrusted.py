"""Type-checked reads of untrusted JSON (a Cronofy payload). Pure.

`load` turns bytes into a JSON object or a PayloadError, refusing what JSON itself does not
allow but Python's json module reads (NaN, Infinity, numbers too large for a float).

Each reader names where in the document a value was, so a PayloadError tells an admin
exactly what was wrong: a number where a string belongs is refused, never guessed.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_TEXT = 2000  # display text is cut beyond this


class PayloadError(ValueError):
    """The body is authentic but not a notification this app can read; says why."""


def load(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or PayloadError (also for NaN, Infinity and numbers too
    large for a float, which JSON itself does not allow and no JSON answer could repeat)."""
    try:
        document = json.loads(
            body.decode("utf-8"), parse_constant=_not_a_number, parse_float=_finite
        )
    except UnicodeDecodeError as exc:
        raise PayloadError(f"body is not UTF-8: {exc.reason} at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise PayloadError(f"body is not JSON: {exc.msg} (line {exc.lineno})") from exc
    except ValueError as exc:  # e.g. an integer past Python's digit limit for int()
        raise PayloadError(f"body is not JSON this app can read: {exc}") from exc
    except RecursionError as exc:  # pathologically nested arrays or objects
        raise PayloadError("body is nested too deeply to read") from exc
    if not isinstance(document, dict):
        raise PayloadError("body is not a JSON object")
    return document


def _not_a_number(name: str) -> float:
    raise PayloadError(f"body holds {name}, which is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise PayloadError(f"body holds a number too large to read: {text[:40]}")
    return value


def mapping(value: Any, where: str, required: bool = False) -> dict[str, Any]:
    if value is None:
        if required:
            raise PayloadError(f"{where} is missing")
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{where} should be an object, got {kind(value)}")
    return value


def string(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{where} should be a string, got {kind(value)}")
    return value


UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: str) -> bool:
    """No character a text column refuses (UNSTORABLE). Surrogates are never ASCII, so the
    usual all-ASCII value is settled without the regular expression (the receiver reads a
    dozen values a delivery, twice)."""
    if value.isascii():
        return "\x00" not in value
    return UNSTORABLE.search(value) is None


def printable(value: str) -> str:
    """Display text that every database stores, with U+FFFD for what none can.

    NUL (PostgreSQL refuses it) and lone surrogates (JSON allows "\\ud800"; no UTF-8 encoder
    takes it) are the two characters a JSON string can carry that a text column cannot.
    """
    return value if storable(value) else UNSTORABLE.sub("\ufffd", value)


def text(container: dict[str, Any], key: str, where: str, limit: int = MAX_TEXT) -> str | None:
    """Display text: cut (not refused) when absurdly long."""
    value = string(container.get(key), f"{where}.{key}")
    if value is None:
        return None
    value = printable(value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def identifier(container: dict[str, Any], key: str, where: str, limit: int) -> str | None:
    """Ids and URLs: refused when too long, since a cut one would point somewhere else."""
    value = string(container.get(key), f"{where}.{key}")
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit:
        raise PayloadError(f"{where}.{key} is longer than {limit} characters")
    if not storable(value):  # never in a real id or URL, and no database stores them
        raise PayloadError(f"{where}.{key} contains a NUL or a lone surrogate character")
    return value or None


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "a string"
    return "null"
