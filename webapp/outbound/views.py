"""/settings/webhooks: admins list, create, edit, enable/disable, delete endpoints, rotate
their secret, read the delivery log, resend a message and send a test event.

A new secret is rendered in the answer to the POST that made it (never put in the session
or a flash, which travel in a cookie), once.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from webapp.auth.access import admin_required
from webapp.models import ENDPOINT_SLACK, ENDPOINT_WEBHOOK, utcnow
from webapp.outbound import bp, delivery, events, service
from webapp.outbound.health import shown_url


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
            return render_template(
                "outbound/secret.html",
                endpoint=created.endpoint,
                secret=created.secret,
                created=True,
                **_page_context(),
            )
    status = 422 if errors else 200
    page = render_template(
        "outbound/endpoint_form.html",
        values=values,
        errors=errors,
        endpoint=None,
        **_page_context(),
    )
    return page, status


@bp.route("/<int:endpoint_id>", methods=["GET", "POST"])
@admin_required
def endpoint_detail(endpoint_id: int):  # type: ignore[no-untyped-def]
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
    before = request.args.get("before", type=int)
    log = service.delivery_log(endpoint, before)
    next_url = (
        url_for("outbound.endpoint_detail", endpoint_id=endpoint_id, before=log[-1].attempt.id)
        if len(log) == service.LOG_PAGE
        else None
    )
    page = render_template(
        "outbound/endpoint.html",
        endpoint=endpoint,
        values=values,
        errors=errors,
        log=log,
        waiting=service.waiting_messages(endpoint),
        next_url=next_url,
        rotating_until=delivery.secrets_rotating_until(endpoint, utcnow()),
        **_page_context(),
    )
    return page, 422 if errors else 200


@bp.post("/<int:endpoint_id>/enable")
@admin_required
def endpoint_enable(endpoint_id: int):  # type: ignore[no-untyped-def]
    _endpoint_or_404(endpoint_id)
    service.set_enabled(endpoint_id, True)
    flash("Endpoint enabled: messages still pending are being sent.", "success")
    return redirect(url_for("outbound.endpoint_detail", endpoint_id=endpoint_id))


@bp.post("/<int:endpoint_id>/disable")
@admin_required
def endpoint_disable(endpoint_id: int):  # type: ignore[no-untyped-def]
    _endpoint_or_404(endpoint_id)
    service.set_enabled(endpoint_id, False)
    flash("Endpoint disabled: nothing is sent to it until you enable it again.", "success")
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
    return render_template(
        "outbound/secret.html", endpoint=endpoint, secret=secret, created=False, **_page_context()
    )


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
