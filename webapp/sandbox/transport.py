"""One HTTP POST of a signed notification, as Cronofy makes it. No Flask, no database.

The standard library only (urllib), so the app needs no HTTP client at run time.
Redirects are not followed: Cronofy wants a 2xx from the URL it was given.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from webapp.outbox.senders import HttpAnswer

TIMEOUT_SECONDS = 5.0
MAX_RESPONSE_BYTES = 64 * 1024


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None  # surfaces the 3xx as an HTTPError: a failed delivery


# No proxies: Cronofy posts straight to the receiver, and so does the sandbox.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def post(
    url: str, body: bytes, headers: dict[str, str], timeout: float = TIMEOUT_SECONDS
) -> HttpAnswer:
    """POST body to url; never raises for network trouble, it reports it instead."""
    if urlsplit(url).scheme not in ("http", "https"):
        return HttpAnswer(status=None, error=f"not an http(s) URL: {url!r}")
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=timeout) as response:
            return HttpAnswer(status=response.status, body=_read(response))
    except urllib.error.HTTPError as exc:
        with exc:
            return HttpAnswer(status=exc.code, body=_read(exc), error=f"HTTP {exc.code}")
    except urllib.error.URLError as exc:
        return HttpAnswer(status=None, error=str(exc.reason))
    except (TimeoutError, OSError, ValueError, http.client.HTTPException) as exc:
        return HttpAnswer(status=None, error=str(exc) or type(exc).__name__)


def _read(response) -> str:  # type: ignore[no-untyped-def]
    try:
        return response.read(MAX_RESPONSE_BYTES).decode("utf-8", "replace")
    except (OSError, ValueError):
        return ""
