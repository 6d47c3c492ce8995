"""The Cronofy-HMAC-SHA256 check (docs/cronofy.md). Pure: no Flask, no database.

The header is the standard Base64 of HMAC-SHA256 over the raw body, keyed with a client
secret; with several active secrets it lists one value per secret, comma-separated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

HEADER = "Cronofy-HMAC-SHA256"


def sign(body: bytes, client_secret: str) -> str:
    digest = hmac.new(client_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def header_values(header: str | None) -> list[str]:
    if not header:
        return []
    return [value.strip() for value in header.split(",") if value.strip()]


def is_authentic(body: bytes, header: str | None, client_secrets: Iterable[str]) -> bool:
    """True when any value in the header matches the body signed with any secret.

    Every comparison is constant-time, and every pair is compared (no early exit on the
    first secret) so timing does not reveal which secret matched.
    """
    offered = [value.encode("ascii", "replace") for value in header_values(header)]
    if not offered:
        return False
    matched = False
    for secret in client_secrets:
        expected = sign(body, secret).encode("ascii")
        for value in offered:
            matched |= hmac.compare_digest(expected, value)
    return matched
