"""Distinct, signed Cronofy push notifications, cheap enough to make one per request.

Bodies are Cronofy's documented example (the tests' copy, tests/support/example_payload.json)
serialised once with placeholders; each delivery substitutes a unique
scheduling_request_id, a unique triggered_at and a correlation ID, then signs the bytes
exactly as Cronofy would (tests/support/deliveries.py's signed_headers).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Sequence

from tests.support.deliveries import example_payload, signed_headers
from webapp.webhooks.signatures import HEADER

_SRQ = "srq_PLACEHOLDER_SRQ"
_AT = "PLACEHOLDER_AT"
_CORR = "PLACEHOLDER_CORRELATION"


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
        return signed_headers(body, self.secret)

    def next_request(self) -> bytes:
        """A whole raw HTTP/1.1 POST /webhooks/cronofy, for the load generator."""
        _, body = self.next_body()
        return raw_post(body, self.headers(body), self.host)

    def next_forged_request(self) -> bytes:
        """The same, with a signature no client secret makes (a flood of bad signatures)."""
        _, body = self.next_body()
        headers = {**self.headers(body), HEADER: "forged" + str(next(self.counter))}
        return raw_post(body, headers, self.host)


def raw_post(body: bytes, headers: dict[str, str], host: str) -> bytes:
    lines = ["POST /webhooks/cronofy HTTP/1.1", f"Host: {host}", "User-Agent: Cronofy"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
