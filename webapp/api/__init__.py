"""The JSON API, /api/v1: bearer tokens, JSON in and out, the documented error shape.

Each resource lives in its own module and registers its routes on `bp`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, request
from werkzeug.exceptions import HTTPException

from webapp.auth.api_tokens import authenticate_bearer
from webapp.errors import json_error
from webapp.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


class ApiError(Exception):
    """Raise from an API view to answer with the documented error shape."""

    def __init__(
        self, status: int, message: str, fields: dict[str, str] | None = None, code: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields
        self.code = code


@bp.before_request
def _authenticate():  # type: ignore[no-untyped-def]
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = authenticate_bearer(token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        response, status = json_error(
            401, "A valid API token is required: send 'Authorization: Bearer <token>'."
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return response, status
    g.api_user = user
    return None


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):  # type: ignore[no-untyped-def]
    return json_error(error.status, error.message, error.fields, error.code)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):  # type: ignore[no-untyped-def]
    return json_error(error.code or 500, error.description or error.name)


def json_body() -> dict[str, Any]:
    """The request's JSON object, or an ApiError that says what is wrong with it."""
    if not request.is_json:
        raise ApiError(415, "Send a JSON body with 'Content-Type: application/json'.")
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested too deeply for the parser (not a ValueError, so not silent)
        data = None
    if data is None:
        raise ApiError(400, "The body is not valid JSON.")
    if not isinstance(data, dict):
        raise ApiError(422, "The body must be a JSON object.")
    return data


def list_response(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}


def page_limit(default: int = 50, maximum: int = 200) -> int:
    raw = request.args.get("limit")
    if raw is None:
        return default
    # ASCII digits only: "²".isdigit() is true, and int() of 5,000 digits raises.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6) or not 1 <= int(raw) <= maximum:
        raise ApiError(422, "Invalid query.", {"limit": f"a whole number from 1 to {maximum}"})
    return int(raw)


# Resource modules register their routes on bp when imported.
from webapp.api import (  # noqa: E402, F401
    audit_events,
    insights,
    links,
    scheduling_requests,
    webhook_endpoints,
)
