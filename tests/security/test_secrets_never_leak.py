"""The Embed Secret, the client secrets and SECRET_KEY appear in no page, API answer, CLI
output or log line (docs/cronofy.md).

The suite-wide check lives in tests/conftest.py: every test of the suite runs under a
LeakGuard and fails at teardown if a secret of an app (or gunicorn server) it used shows
up in anything it captured. These tests prove that guard can fail, and walk the places
most likely to leak: settings, errors, refusals, redirects, sandbox pages and the CLI.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click
import pytest
from flask import Flask

from tests.support import server as server_support
from tests.support.deliveries import post_signed
from tests.support.leakguard import MIN_SECRET_LENGTH, LeakGuard
from tests.support.signin import bearer, sign_in
from webapp.auth.access import public
from webapp.models import utcnow
from webapp.tracking.tokens import mint_claim_token
from webapp.webhooks.signatures import HEADER


def leaky_app(app: Flask) -> Flask:
    """The app plus a page, a log line and a command that each give a secret away."""
    config = app.config

    @app.get("/_leak/page")
    @public
    def leak_page():  # type: ignore[no-untyped-def]
        return f"embed secret: {config['CRONOFY_SCHEDULER_EMBED_SECRET']}"

    @app.get("/_leak/log")
    @public
    def leak_log():  # type: ignore[no-untyped-def]
        logging.getLogger("webapp.leaky").info("signing with %s", config["CLIENT_SECRETS"][0])
        return "nothing to see"

    @app.cli.command("leak")
    def leak_command() -> None:
        click.echo(config["SECRET_KEY"])

    return app


@pytest.mark.secrets_expected
def test_the_guard_catches_a_secret_in_a_page_a_log_line_and_cli_output(
    app_factory, _secrets_never_leak
):
    guard = _secrets_never_leak
    app = leaky_app(app_factory())
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert not guard.leaks()  # an answer without a secret is not a leak
    assert client.get("/_leak/log").status_code == 200
    assert client.get("/_leak/page").status_code == 200
    app.test_cli_runner().invoke(args=["leak"])
    found = guard.leaks()
    assert any("CRONOFY_SCHEDULER_EMBED_SECRET" in line and "/_leak/page" in line for line in found)
    assert any(
        "CLIENT_SECRETS[0]" in line and "log record of webapp.leaky" in line for line in found
    )
    assert any("SECRET_KEY" in line and "CLI output" in line for line in found)
    # Findings name the secret and the place, never the value.
    for secret in (app.config["CRONOFY_SCHEDULER_EMBED_SECRET"], app.config["SECRET_KEY"]):
        assert not any(secret in line for line in found)


@pytest.mark.secrets_expected
def test_the_guard_reads_streamed_answers_as_the_test_reads_them(app_factory, _secrets_never_leak):
    app = app_factory()

    @app.get("/_leak/stream")
    @public
    def leak_stream():  # type: ignore[no-untyped-def]
        def chunks():  # type: ignore[no-untyped-def]
            yield "data: hello\n\n"
            yield f"data: {app.config['CLIENT_SECRETS'][0]}\n\n"

        return app.response_class(chunks(), mimetype="text/event-stream")

    response = app.test_client().get("/_leak/stream")
    assert not _secrets_never_leak.leaks()  # nothing read yet
    assert app.config["CLIENT_SECRETS"][0] in response.get_data(as_text=True)
    assert any("/_leak/stream" in line for line in _secrets_never_leak.leaks())


def test_the_guard_ignores_values_too_short_to_be_secrets():
    guard = LeakGuard()
    guard.watch_env({"SECRET_KEY": "x" * (MIN_SECRET_LENGTH - 1)}, "tiny")
    guard.capture("page", "x" * 100)
    assert guard.leaks() == []
    guard.watch_env({"CRONOFY_CLIENT_SECRET": "CRN_one_long_value, CRN_two_long_value"}, "env")
    guard.capture("log", "signed with CRN_two_long_value")
    assert guard.leaks() == ["env CRONOFY_CLIENT_SECRET[1] appeared in log"]


def test_a_gunicorn_log_showing_a_secret_fails_the_server_check(tmp_path: Path):
    env = {"CRONOFY_SCHEDULER_EMBED_SECRET": "ESK_" + "a" * 40, "SECRET_KEY": "s" * 32}
    env["CRONOFY_CLIENT_SECRET"] = "CRN_first_secret_value,CRN_second_secret_value"
    log = tmp_path / "gunicorn.log"
    server = server_support.Server(
        base_url="http://127.0.0.1:9", env=env, process=None, log_path=log, database_url=""
    )  # type: ignore[arg-type]
    log.write_text("[INFO] Booting worker with pid: 42\n")
    server_support.check_log_for_secrets(server)  # a clean log passes
    log.write_text("[ERROR] bad signature, expected CRN_second_secret_value\n")
    with pytest.raises(AssertionError, match=r"CRONOFY_CLIENT_SECRET\[1\]") as failure:
        server_support.check_log_for_secrets(server)
    assert "CRN_second_secret_value" not in str(failure.value)


def test_the_places_most_likely_to_leak_show_no_secret(world):
    """Walk them; the suite-wide guard does the checking at teardown, this asserts too."""
    app = world.app
    admin = sign_in(app.test_client(), "admin@example.com")
    anonymous = app.test_client()
    config = app.config
    secrets = [config["CRONOFY_SCHEDULER_EMBED_SECRET"], config["SECRET_KEY"]]
    secrets += config["CLIENT_SECRETS"]
    answers = [
        admin.get("/settings"),
        admin.post("/settings/test-notification", follow_redirects=True),
        admin.get("/events"),
        admin.get(f"/events/{world.failed_delivery_id}"),
        admin.get("/"),
        admin.get("/tokens"),
        anonymous.get(f"/l/{world.slug}", headers={"User-Agent": "Mozilla/5.0"}),
        anonymous.get(f"/l/{world.slug}", headers={"User-Agent": "Slackbot-LinkExpanding"}),
        anonymous.post("/webhooks/cronofy", data=b"{}", headers={HEADER: "bm9wZQ=="}),
        post_signed(anonymous, b"not json", config["CLIENT_SECRETS"][0]),
        anonymous.get("/sandbox/pls/demo", query_string={"claim_token": "forged"}),
        anonymous.get(
            "/sandbox/pls/demo",
            query_string={
                "claim_token": mint_claim_token(
                    embed_public_key=config["CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY"],
                    embed_secret="ESK_not_the_real_one_" + "x" * 20,
                    now=utcnow(),
                    lifetime_seconds=600,
                ).token
            },
        ),
        anonymous.get("/api/v1/public-links"),
        anonymous.get("/api/v1/public-links", headers=bearer(world.revoked_token)),
        anonymous.get("/api/v1/tracked-links", headers=bearer(world.admin_token)),
        anonymous.get("/healthz"),
        anonymous.get("/no-such-page"),
    ]
    for response in answers:
        text = response.get_data(as_text=True) + str(response.headers)
        for secret in secrets:
            assert secret not in text, f"{response.request.path} shows a secret"
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["sandbox", "send", "--url", "http://127.0.0.1:9/x", "--correlation-id", "c1"]
    )
    assert result.exit_code != 0  # nothing listens there; the output explains, without secrets
    assert not any(secret in result.output for secret in secrets)
