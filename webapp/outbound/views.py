"""/settings/webhooks: admins list, create, edit, enable/disable, delete endpoints, rotate
their secret, read the delivery log (keyset pages), resend a message and send a test event.

A new secret is rendered in the answer to the POST that made it (never put in the session
or a flash, which travel in a cookie), once.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from webapp.auth.access import admin_required
from webapp.listing import PageRequest, capped_count, fetch_window, make_pager
from webapp.models import ENDPOINT_SLACK, ENDPOINT_WEBHOOK, OutboxAttempt, WebhookEndpoint, utcnow
from webapp.outbound import bp, delivery, events, log, service
from webapp.outbound.health import shown_url
from webapp.pagination import InvalidCursor


def _form_data(form: MultiDict[str, str], *, creating: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "url": form.get("url", ""),
        "description": form.get("description", ""),
        "events": form.getlist("events"),
    }
    if creating:
        data["kind"] = form.get("kind", ENDPOINT_WEBHOOK)
    return data


def _endpoint_or_404(endpoint_id: int):  # type: ignore[no-untyped-def]
    try:
        return service.get_endpoint(endpoint_id)
    except service.EndpointNotFound:
        abort(404)


def _page_context() -> dict[str, Any]:
    return {
        "event_types": events.EVENT_TYPES,
        "event_labels": events.EVENT_LABELS,
        "shown_url": shown_url,
        "has_public_base_url": bool(current_app.config.get("PUBLIC_BASE_URL")),
        "allow_private": bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE_TARGETS")),
    }


def _secret_page(
    endpoint: WebhookEndpoint, secret: str | None, *, created: bool
) -> tuple[str, dict[str, str]]:
    """The one answer that shows a signing secret: kept out of every cache."""
    page = render_template(
        "outbound/secret.html", endpoint=endpoint, secret=secret, created=created, **_page_context()
    )
    return page, {"Cache-Control": "no-store"}


@bp.get("")
@admin_required
def endpoints():  # type: ignore[no-untyped-def]
    return render_template(
        "outbound/endpoints.html", endpoints=service.list_endpoints(), **_page_context()
    )


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def endpoint_new():  # type: ignore[no-untyped-def]
    values: dict[str, Any] = {"events": list(events.DEFAULT_EVENTS), "kind": ENDPOINT_WEBHOOK}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = _form_data(request.form, creating=True)
        try:
            created = service.create_endpoint(current_user, values)
        except service.InvalidEndpoint as error:
            errors = error.fields
        else:
            return _secret_page(created.endpoint, created.secret, created=True)
    status = 422 if errors else 200
    page = render_template(
        "outbound/endpoint_form.html",
        values=values,
        errors=errors,
        endpoint=None,
        **_page_context(),
    )
    return page, status


@bp.get("/<int:endpoint_id>")
@admin_required
def endpoint_detail(endpoint_id: int):  # type: ignore[no-untyped-def]
    endpoint = _endpoint_or_404(endpoint_id)
    wanted = PageRequest.from_args(request.args)
    statement = log.log_statement(endpoint)
    try:
        window = fetch_window(statement, log.LOG_KEYSET, wanted, log.log_lines)
    except InvalidCursor:
        flash("That page link is not valid any more; showing the newest attempts.", "warning")
        return redirect(url_for("outbound.endpoint_detail", endpoint_id=endpoint_id))
    total = capped_count(statement.with_only_columns(OutboxAttempt.id))
    pager = make_pager(
        window,
        wanted,
        "outbound.endpoint_detail",
        {},
        total,
        "attempts",
        path_args={"endpoint_id": endpoint_id},
    )
    return render_template(
        "outbound/endpoint.html",
        endpoint=endpoint,
        log=window.items,
        pager=pager,
        waiting=log.waiting_messages(endpoint),
        rotating_until=delivery.secrets_rotating_until(endpoint, utcnow()),
        **_page_context(),
    )


@bp.route("/<int:endpoint_id>/edit", methods=["GET", "POST"])
@admin_required
def endpoint_edit(endpoint_id: int):  # type: ignore[no-untyped-def]
    endpoint = _endpoint_or_404(endpoint_id)
    errors: dict[str, str] = {}
    slack = endpoint.kind == ENDPOINT_SLACK
    values: dict[str, Any] = {
        "url": "" if slack else endpoint.url,  # a Slack URL is a credential: never shown
        "description": endpoint.description,
        "events": list(endpoint.events or []),
    }
    if request.method == "POST":
        values = _form_data(request.form, creating=False)
        if slack and not values["url"].strip():
            del values["url"]  # kept as it is
        try:
            service.update_endpoint(endpoint_id, values)
        except service.InvalidEndpoint as error:
            errors = error.fields
        else:
            flash("Endpoint saved.", "success")
            return redirect(url_for("outbound.endpoint_detail", endpoint_id=endpoint_id))
    page = render_template(
        "outbound/endpoint_form.html",
        endpoint=endpoint,
        values=values,
        errors=errors,
        **_page_context(),
    )
    return page, 422 if errors else 200


@bp.post("/<int:endpoint_id>/enable")
@admin_required
def endpoint_enable(endpoint_id: int):  # type: ignore[no-untyped-def]
    return _switch(endpoint_id, True, "Endpoint enabled: messages still pending are being sent.")


@bp.post("/<int:endpoint_id>/disable")
@admin_required
def endpoint_disable(endpoint_id: int):  # type: ignore[no-untyped-def]
    return _switch(
        endpoint_id, False, "Endpoint disabled: nothing is sent to it until you enable it again."
    )


def _switch(endpoint_id: int, enabled: bool, message: str):  # type: ignore[no-untyped-def]
    _endpoint_or_404(endpoint_id)
    service.set_enabled(endpoint_id, enabled)
    flash(message, "success")
    return redirect(url_for("outbound.endpoint_detail", endpoint_id=endpoint_id))


@bp.post("/<int:endpoint_id>/delete")
@admin_required
def endpoint_delete(endpoint_id: int):  # type: ignore[no-untyped-def]
    _endpoint_or_404(endpoint_id)
    service.delete_endpoint(endpoint_id)
    flash("Endpoint deleted, with its pending messages and delivery log.", "success")
    return redirect(url_for("outbound.endpoints"))


@bp.post("/<int:endpoint_id>/rotate")
@admin_required
def endpoint_rotate(endpoint_id: int):  # type: ignore[no-untyped-def]
    endpoint = _endpoint_or_404(endpoint_id)
    try:
        secret = service.rotate_secret(endpoint_id)
    except service.InvalidEndpoint:
        abort(404)
    return _secret_page(endpoint, secret, created=False)


@bp.post("/<int:endpoint_id>/test")
@admin_required
def endpoint_test(endpoint_id: int):  # type: ignore[no-untyped-def]
    _endpoint_or_404(endpoint_id)
    service.send_test_event(endpoint_id)
    flash("Test event queued: it appears in the delivery log below once sent.", "success")
    return redirect(url_for("outbound.endpoint_detail", endpoint_id=endpoint_id))


@bp.post("/<int:endpoint_id>/messages/<int:message_pk>/resend")
@admin_required
def message_resend(endpoint_id: int, message_pk: int):  # type: ignore[no-untyped-def]
    _endpoint_or_404(endpoint_id)
    try:
        row = service.resend(endpoint_id, message_pk)
    except service.MessageNotFound:
        abort(404)
    flash(f"Message {row.message_id} queued again.", "success")
    return redirect(url_for("outbound.endpoint_detail", endpoint_id=endpoint_id))
