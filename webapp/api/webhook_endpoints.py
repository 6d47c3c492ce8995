"""API: outbound webhook endpoints (admins' tokens only). The same service as the pages.

`secret` appears once, in the answer to the POST that creates an endpoint; a Slack
endpoint's URL (its own credential) is shown masked.
"""

from __future__ import annotations

from typing import Any

from flask import g

from webapp.api import ApiError, bp, json_body, list_response
from webapp.models import WebhookEndpoint, utcnow
from webapp.outbound import service
from webapp.outbound.delivery import secrets_rotating_until
from webapp.outbound.health import shown_url
from webapp.templating import iso_utc


def endpoint_json(endpoint: WebhookEndpoint) -> dict[str, Any]:
    rotating = secrets_rotating_until(endpoint, utcnow())
    return {
        "id": endpoint.id,
        "kind": endpoint.kind,
        "url": shown_url(endpoint),
        "events": list(endpoint.events or []),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "disabled_at": iso_utc(endpoint.disabled_at) or None,
        "failing_since": iso_utc(endpoint.failing_since) or None,
        "previous_secret_valid_until": iso_utc(rotating) or None,
        "created_at": iso_utc(endpoint.created_at),
        "updated_at": iso_utc(endpoint.updated_at),
    }


def _admin_only() -> None:
    if not g.api_user.is_admin:
        raise ApiError(403, "Only an admin's API token may manage webhook endpoints.")


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    try:
        return service.get_endpoint(endpoint_id)
    except service.EndpointNotFound as error:
        raise ApiError(404, str(error)) from error


@bp.get("/webhook-endpoints")
def list_webhook_endpoints():  # type: ignore[no-untyped-def]
    _admin_only()
    return list_response([endpoint_json(item) for item in service.list_endpoints()], None)


@bp.post("/webhook-endpoints")
def create_webhook_endpoint():  # type: ignore[no-untyped-def]
    _admin_only()
    try:
        created = service.create_endpoint(g.api_user, json_body())
    except service.InvalidEndpoint as error:
        raise ApiError(422, "Invalid webhook endpoint.", error.fields) from error
    body = endpoint_json(created.endpoint)
    body["secret"] = created.secret  # the only time it is shown
    return body, 201


@bp.get("/webhook-endpoints/<int:endpoint_id>")
def get_webhook_endpoint(endpoint_id: int):  # type: ignore[no-untyped-def]
    _admin_only()
    return endpoint_json(_endpoint(endpoint_id))


@bp.patch("/webhook-endpoints/<int:endpoint_id>")
def update_webhook_endpoint(endpoint_id: int):  # type: ignore[no-untyped-def]
    _admin_only()
    _endpoint(endpoint_id)
    data = json_body()
    try:
        endpoint = service.update_endpoint(endpoint_id, data)
    except service.InvalidEndpoint as error:
        raise ApiError(422, "Invalid webhook endpoint.", error.fields) from error
    return endpoint_json(endpoint)


@bp.delete("/webhook-endpoints/<int:endpoint_id>")
def delete_webhook_endpoint(endpoint_id: int):  # type: ignore[no-untyped-def]
    _admin_only()
    _endpoint(endpoint_id)
    service.delete_endpoint(endpoint_id)
    return "", 204
