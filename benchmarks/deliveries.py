"""Distinct, signed Cronofy push notifications, cheap enough to make one per request.

Bodies are Cronofy's documented example (shared/cronofy/scheduling_request_time_chosen.json,
or benchmarks/example_payload.json, a copy)
serialised once with placeholders; each delivery substitutes a unique
scheduling_request_id, a unique triggered_at and a correlation ID, then signs the bytes
with webapp.webhooks.signatures.sign, exactly as Cronofy would.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from webapp.webhooks.signatures import HEADER, sign

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_NAME = "scheduling_request_time_chosen.json"
EXAMPLE_CANDIDATES = (
    ROOT.parent / "shared" / "cronofy" / EXAMPLE_NAME,  # the shared copy beside the repo
    ROOT / "shared" / "cronofy" / EXAMPLE_NAME,
    Path(__file__).with_name("example_payload.json"),  # our copy of the same document
)
_SRQ = "srq_PLACEHOLDER_SRQ"
_AT = "PLACEHOLDER_AT"
_CORR = "PLACEHOLDER_CORRELATION"


def example_payload() -> dict[str, Any]:
    """Cronofy's documented example notification, as a fresh dict."""
    path = next(path for path in EXAMPLE_CANDIDATES if path.exists())
    return json.loads(path.read_text())


class DeliveryFactory:
    """Makes deliveries whose ids start with `srq_<prefix>`; never the same body twice."""

    def __init__(
        self,
        client_secret: str,
        prefix: str,
        correlation_ids: Sequence[str] = (),
        host: str = "127.0.0.1",
    ) -> None:
        payload = example_payload()
        payload["notification"]["triggered_at"] = _AT
        request = payload["scheduling_request"]
        request["scheduling_request_id"] = _SRQ
        request["event"]["metadata"]["scheduler"]["correlation_id"] = _CORR
        self.template = json.dumps(payload, separators=(",", ":")).encode()
        self.secret = client_secret
        self.prefix = prefix
        self.correlation_ids = list(correlation_ids) or ["bench-unmatched"]
        self.host = host
        self.counter = itertools.count()
        # Seconds since a fixed past moment: unique per delivery, always in the past.
        self.epoch = int(time.time()) - 400 * 24 * 3600

    def next_body(self) -> tuple[str, bytes]:
        """(scheduling_request_id, body) of a new, distinct delivery."""
        n = next(self.counter)
        srq = f"srq_{self.prefix}{n:012d}"
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.epoch + n))
        correlation_id = self.correlation_ids[n % len(self.correlation_ids)]
        body = (
            self.template.replace(_SRQ.encode(), srq.encode())
            .replace(_AT.encode(), at.encode())
            .replace(_CORR.encode(), json.dumps(correlation_id)[1:-1].encode())
        )
        return srq, body

    def headers(self, body: bytes) -> dict[str, str]:
        return {
            "Content-Type": "application/json; charset=utf-8",
            HEADER: sign(body, self.secret),
        }

    def next_request(self) -> bytes:
        """A whole raw HTTP/1.1 POST /webhooks/cronofy, for the load generator."""
        _, body = self.next_body()
        head = (
            f"POST /webhooks/cronofy HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Content-Type: application/json; charset=utf-8\r\n"
            f"{HEADER}: {sign(body, self.secret)}\r\n"
            f"User-Agent: Cronofy\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode("latin-1") + body
