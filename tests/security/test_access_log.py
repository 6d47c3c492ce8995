"""Access logs never contain a claim token (issue 9 §9).

Against a real gunicorn started with gunicorn.conf.py and the access log on: query strings
under /sandbox/ and /l/ are logged as "[redacted]", a claim token in a Referer too, and
other requests keep their query strings (so the redaction is not simply everything).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from tests.support.server import running_server, server_env
from webapp.access_log import REDACTED, redact
from webapp.tracking.tokens import mint_claim_token


def claim_token() -> str:
    return mint_claim_token(
        embed_public_key="EMB_log_test",
        embed_secret="ESK_" + "s" * 40,
        now=datetime.now(UTC),
        lifetime_seconds=600,
    ).token


def read_until(path, needle: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if needle in text:
            return text
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} never reached the access log:\n{text}")


@pytest.mark.timeout(120)
def test_the_access_log_of_a_real_server_holds_no_claim_token(tmp_path):
    access_log = tmp_path / "access.log"
    env = server_env(tmp_path, GUNICORN_ACCESS_LOG=str(access_log), WEBAPP_SANDBOX="1")
    tokens = [claim_token() for _ in range(3)]
    with running_server(tmp_path, env=env, workers=1, threads=4) as server:
        with httpx.Client(base_url=server.base_url) as client:
            booking = client.get(
                "/sandbox/pls/ABCD1234", params={"claim_token": tokens[0], "correlation_id": "c"}
            )
            tracked = client.get("/l/no-such-slug", params={"claim_token": tokens[1]})
            referred = client.get(
                "/healthz",
                params={"visible": "yes"},
                headers={"Referer": f"{server.base_url}/sandbox/pls/X?claim_token={tokens[2]}"},
            )
        assert booking.status_code in (200, 400, 403) and tracked.status_code == 404
        assert referred.status_code == 200
        text = read_until(access_log, "/healthz?visible=yes")
        read_until(access_log, "/l/no-such-slug")
    for token in tokens:
        assert token not in text
        assert token.split(".")[2] not in text  # not even the signature
    assert f"GET /sandbox/pls/ABCD1234?{REDACTED} HTTP/1.1" in text
    assert f"GET /l/no-such-slug?{REDACTED} HTTP/1.1" in text
    assert f"claim_token={REDACTED}" in text  # the Referer, shown without its token


def test_a_short_query_string_redacts_only_the_request_target():
    atoms = {
        "r": "GET /l/abc?a HTTP/1.1",
        "q": "a",
        "a": "Mozilla/5.0 (a browser)",
        "{raw_uri}e": "/l/abc?a",
        "s": "302",
        "B": 12,
    }
    cleaned = redact(atoms, "/l/abc", "a")
    assert cleaned == {
        "r": f"GET /l/abc?{REDACTED} HTTP/1.1",
        "q": REDACTED,
        "a": "Mozilla/5.0 (a browser)",
        "{raw_uri}e": f"/l/abc?{REDACTED}",
        "s": "302",
        "B": 12,
    }
    assert redact(atoms, "/links", "a") == atoms  # staff pages keep their queries
