"""Error pages: HTML for people, the JSON error shape under /api/ and for the receiver."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, SecurityError

from webapp.extensions import db

log = logging.getLogger(__name__)

ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


# What a person reads on an error page: a title and what to do next, in their words.
FRIENDLY = {
    400: ("That request could not be understood", "Go back, check what you entered and try again."),
    403: (
        "You can't open this page",
        "Your account does not have access to it. Ask an admin if you need it.",
    ),
    404: (
        "We couldn't find that page",
        "The address may be mistyped, or what it showed has been removed.",
    ),
    405: ("That can't be done here", "Go back and use the page's own buttons."),
    410: ("This is no longer available", "What this address showed has been switched off."),
    413: ("That file is too large", "Upload a smaller file (at most 1 MB)."),
    429: ("Too many requests", "Wait a minute, then try again."),
    500: (
        "Something went wrong on our side",
        "It has been logged. Try again in a moment; if it keeps happening, tell an admin.",
    ),
    503: ("Not available right now", "Try again in a few minutes."),
}


def error_page(status: int, description: str | None = None, title: str | None = None) -> str:
    """The error page in the app's layout; `description` replaces the usual advice."""
    default_title, advice = FRIENDLY.get(status, ("Something went wrong", "Go back and try again."))
    return render_template(
        "error.html", code=status, title=title or default_title, message=description or advice
    )


def _own_description(error: HTTPException) -> str | None:
    """The description a view gave to abort(), or None for werkzeug's stock text."""
    stock = type(error).description
    return error.description if error.description and error.description != stock else None


def json_error(status: int, message: str, fields: dict[str, str] | None = None, code: str = ""):  # type: ignore[no-untyped-def]
    body: dict[str, object] = {"code": code or ERROR_CODES.get(status, "error"), "message": message}
    if fields:
        body["fields"] = fields
    return jsonify(error=body), status


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/webhooks/")


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):  # type: ignore[no-untyped-def]
        if wants_json():
            return json_error(400, error.description)
        message = (
            "The page was open too long or came from elsewhere. "
            "Go back, reload the page and try again."
        )
        return error_page(400, message, title="This form has expired"), 400

    @app.errorhandler(SecurityError)
    def untrusted_host(error: SecurityError):  # type: ignore[no-untyped-def]
        # Flask raises this for a Host outside TRUSTED_HOSTS before routing, so there is no
        # URL adapter: a page built on base.html (url_for) cannot be rendered; plain text.
        message = (
            "This server does not answer to the host name this request was sent to. "
            "If you run it, add that name to TRUSTED_HOSTS or set PUBLIC_BASE_URL."
        )
        if wants_json():
            return json_error(400, message, code="untrusted_host")
        return message + "\n", 400, {"Content-Type": "text/plain; charset=utf-8"}

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        status = error.code or 500
        if wants_json():
            response = make_response(*json_error(status, error.description or error.name))
        else:
            response = make_response(error_page(status, _own_description(error)), status)
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):  # type: ignore[no-untyped-def]
        if isinstance(error, HTTPException):
            return http_error(error)
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return json_error(500, "Something went wrong on our side; it has been logged.")
        return error_page(500), 500
