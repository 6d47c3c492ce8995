"""A signed sample notification, and sending one over real HTTP (the settings page's test).

Building is pure (secrets, `now` and ids come in as arguments). Sending uses the standard
library so the app needs no HTTP client package at run time. What comes back is reported
as its status and timing only, never its body: the page must not become a way to read
whatever answers at a URL.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from webapp.webhooks.signatures import HEADER, sign

SAMPLE_TYPE = "scheduling_request_time_chosen"


@dataclass(frozen=True)
class SignedSample:
    body: bytes
    signature: str  # the Cronofy-HMAC-SHA256 header value (one value per secret)
    scheduling_request_id: str
    correlation_id: str


@dataclass(frozen=True)
class SendResult:
    status_code: int | None  # None when no HTTP answer came back
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def build_sample(
    client_secrets: Sequence[str],
    now: datetime,
    scheduling_request_id: str | None = None,
    correlation_id: str | None = None,
    notification_type: str = SAMPLE_TYPE,
) -> SignedSample:
    """A notification shaped like Cronofy's documented example, signed with every secret."""
    if not client_secrets:
        raise ValueError("no client secret to sign with")
    token = secrets.token_hex(6)
    srq_id = scheduling_request_id or f"srq_test_{token}"
    correlation = correlation_id or f"test-{token}"
    document = {
        "notification": {
            "type": notification_type,
            "triggered_at": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "scheduling_request": {
            "scheduling_request_id": srq_id,
            "slot_selection": "complete",
            "summary": "Test notification from the settings page",
            "duration": {"minutes": 30},
            "recipients": [
                {
                    "email": "test.invitee@example.com",
                    "display_name": "Test Invitee",
                    "slot_selector": True,
                }
            ],
            "event": {
                "summary": "Test notification from the settings page",
                "metadata": {
                    "scheduler": {
                        "correlation_id": correlation,
                        "utm_source": "settings_page",
                        "captured_data.note": "Sent by the 'Send a test notification' button.",
                    }
                },
            },
        },
    }
    body = json.dumps(document, separators=(",", ":")).encode("utf-8")
    # One value per secret, comma-separated without spaces, as Cronofy sends them.
    signature = ",".join(sign(body, secret) for secret in client_secrets)
    return SignedSample(body, signature, srq_id, correlation)


def send_sample(url: str, sample: SignedSample, timeout: float = 5.0) -> SendResult:
    """POST the sample to url as Cronofy would; the answer's status and how long it took,
    or why no answer came."""
    started = time.monotonic()
    if not url.startswith(("http://", "https://")):
        return SendResult(None, 0.0, f"not an http(s) URL: {url}")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=sample.body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", HEADER: sample.signature},
    )
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=timeout) as response:
            return SendResult(response.status, time.monotonic() - started)
    except urllib.error.HTTPError as exc:  # a receiver is never meant to redirect either
        exc.close()
        return SendResult(exc.code, time.monotonic() - started)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return SendResult(None, time.monotonic() - started, str(reason) or type(exc).__name__)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Report a redirect instead of following it: urllib would re-send the POST as a GET."""

    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None
