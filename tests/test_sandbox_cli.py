"""`flask sandbox send`: one signed notification to any receiver, sandbox on or off."""

from __future__ import annotations

from tests.support.capture import CaptureServer

CLOSED_PORT_URL = "http://127.0.0.1:9/webhooks/cronofy"


def send(runner, url, *extra):
    return runner.invoke(
        args=["sandbox", "send", "--url", url, "--correlation-id", "corr-cli", *extra]
    )


def test_send_delivers_a_signed_notification_with_the_sandbox_off(app, runner):
    assert app.config["WEBAPP_SANDBOX"] is False
    with CaptureServer(app.config["CLIENT_SECRETS"]) as capture:
        result = send(runner, capture.url, "--type", "scheduling_request_time_chosen")
    assert result.exit_code == 0, result.output
    assert "HTTP 200" in result.output
    assert '"received": true' in result.output  # the receiver's body is printed
    [received] = capture.requests
    assert received.authentic
    assert received.headers["content-type"] == "application/json; charset=utf-8"
    payload = received.json()
    assert payload["notification"]["type"] == "scheduling_request_time_chosen"
    request = payload["scheduling_request"]
    assert request["scheduling_request_id"].startswith("srq_")
    assert request["scheduling_request_id"] in result.output
    assert request["event"]["metadata"]["scheduler"]["correlation_id"] == "corr-cli"
    assert request["slot_selection"] == "complete"
    assert request["recipients"][0]["slot_selector"] is True


def test_send_with_its_own_secret_type_and_id(app, runner):
    with CaptureServer(["CRN_given_on_the_command_line"]) as capture:
        result = send(
            runner,
            capture.url,
            "--secret",
            "CRN_given_on_the_command_line",
            "--type",
            "scheduling_request_declined",
            "--srq-id",
            "srq_by_hand",
        )
    assert result.exit_code == 0, result.output
    [received] = capture.requests
    assert received.authentic
    request = received.json()["scheduling_request"]
    assert request["scheduling_request_id"] == "srq_by_hand"
    assert request["slot_selection"] == "pending"
    assert received.json()["notification"]["type"] == "scheduling_request_declined"


def test_send_to_a_closed_port_fails_clearly(runner):
    result = send(runner, CLOSED_PORT_URL)
    assert result.exit_code != 0
    assert "Could not deliver to http://127.0.0.1:9/webhooks/cronofy" in result.output


def test_a_non_2xx_answer_is_a_failure(app, runner):
    with CaptureServer(["CRN_not_the_apps_secret"]) as capture:
        result = send(runner, capture.url)
    assert result.exit_code != 0
    assert "HTTP 401" in result.output
    assert "not 2xx" in result.output


def test_without_any_client_secret_it_says_what_to_set(app_factory):
    app = app_factory(CRONOFY_CLIENT_SECRET="")
    assert app.config["CLIENT_SECRETS"] == []
    result = send(app.test_cli_runner(), CLOSED_PORT_URL)
    assert result.exit_code != 0
    assert "--secret" in result.output and "CRONOFY_CLIENT_SECRET" in result.output


def test_drain_reports_a_round(runner):
    result = runner.invoke(args=["sandbox", "drain"])
    assert result.exit_code == 0, result.output
    assert "attempted 0" in result.output
