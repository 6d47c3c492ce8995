"""The capture server (tests/support/capture.py) checks Cronofy's signature itself."""

from __future__ import annotations

import httpx

from tests.support.capture import CaptureServer
from webapp.webhooks.signatures import HEADER, sign


def test_capture_server_checks_the_signature():
    with CaptureServer(["CRN_one"], statuses=[500]) as capture:
        body = b'{"example":"well-known"}'
        first = httpx.post(capture.url, content=body, headers={HEADER: sign(body, "CRN_one")})
        second = httpx.post(capture.url, content=body, headers={HEADER: sign(body, "CRN_two")})
        third = httpx.post(capture.url, content=body, headers={HEADER: sign(body, "CRN_one")})
    assert [first.status_code, second.status_code, third.status_code] == [500, 401, 200]
    assert [request.authentic for request in capture.requests] == [True, False, True]
