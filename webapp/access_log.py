"""gunicorn's access log without claim tokens (gunicorn.conf.py: `logger_class`).

A claim token in a URL is a bearer credential for one booking: the tracked-link redirect
puts one in the booking page's address, and the sandbox's booking pages receive it in
their query string. So the query string of every request under /sandbox/ and /l/ is
logged as "[redacted]" wherever the log line would show it (the request line, %(q)s, the
raw URI), and a `claim_token` value anywhere else (a Referer, another path) is redacted too.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
PRIVATE_QUERY_PATHS = ("/sandbox/", "/l/")
CLAIM_TOKEN = re.compile(r"(claim_token=)[^&#\s\"]*", re.IGNORECASE)


def redact(atoms: dict[str, Any], path: str, query: str) -> dict[str, Any]:
    """The log line's atoms with the private query string and every claim token removed.

    `path` is the decoded path (PATH_INFO), `query` the raw query string (QUERY_STRING).
    """
    private = bool(query) and path.startswith(PRIVATE_QUERY_PATHS)
    cleaned = {}
    for key, value in atoms.items():
        if isinstance(value, str):
            if private:
                # %(q)s and {query_string}e are the query itself; the request line and
                # {raw_uri}e hold it after the "?" of a URL (no other text is touched).
                whole = value == query
                value = REDACTED if whole else value.replace(f"?{query}", f"?{REDACTED}")
            value = CLAIM_TOKEN.sub(rf"\1{REDACTED}", value)
        cleaned[key] = value
    return cleaned


class RedactingLogger(Logger):
    """gunicorn's logger; only the access log's atoms differ."""

    def atoms(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        atoms = super().atoms(resp, req, environ, request_time)
        return redact(atoms, environ.get("PATH_INFO") or "", environ.get("QUERY_STRING") or "")
