"""Error pages: HTML for people, the JSON error shape under /api/ and for the receiver."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

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
        return (
            render_template(
                "error.html",
                code=400,
                title="This form has expired",
                message="The page was open too long or came from elsewhere. "
                "Go back, reload the page and try again.",
            ),
            400,
        )

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
            response = make_response(
                render_template(
                    "error.html", code=status, title=error.name, message=error.description
                ),
                status,
            )
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
        return (
            render_template(
                "error.html",
                code=500,
                title=InternalServerError().name,
                message="Something went wrong on our side; it has been logged.",
            ),
            500,
        )
