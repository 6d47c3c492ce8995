"""The admin event log: every delivery, its processing outcome, and refused hits."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from webapp.auth.access import admin_required
from webapp.display import decode_payload
from webapp.extensions import db
from webapp.models import Delivery
from webapp.pagination import InvalidCursor
from webapp.urls import request_url, safe_next
from webapp.webhooks import bp, processing, queries, refusals


@bp.get("/events")
@admin_required
def event_log():  # type: ignore[no-untyped-def]
    refusals.flush(current_app)  # this process's counts; others write theirs within seconds
    db.session.commit()  # a new read, which sees the counts just written
    status = request.args.get("status") or None
    if status not in queries.STATUSES:
        status = None
    try:
        page = queries.deliveries_page(status=status, cursor=request.args.get("cursor"))
    except InvalidCursor:
        flash("That page link is not valid any more; showing the newest deliveries.", "warning")
        return redirect(url_for("webhooks.event_log", status=status))
    next_url = (
        url_for("webhooks.event_log", status=status, cursor=page.next_cursor)
        if page.next_cursor
        else None
    )
    first_url = url_for("webhooks.event_log", status=status) if request.args.get("cursor") else None
    return render_template(
        "webhooks/event_log.html",
        deliveries=page.items,
        status=status,
        statuses=queries.STATUSES,
        next_url=next_url,
        first_url=first_url,
        failed_count=queries.count_with_status("failed"),
        refused_count=refusals.refused_since(hours=24),
        refusals=refusals.latest_refusals(20),
        request_url=request_url,
        reprocessable=processing.REPROCESSABLE,
    )


@bp.get("/events/<int:delivery_id>")
@admin_required
def delivery_detail(delivery_id: int):  # type: ignore[no-untyped-def]
    delivery = db.session.get(Delivery, delivery_id) or abort(404)
    return render_template(
        "webhooks/delivery.html",
        delivery=delivery,
        body_text=decode_payload(bytes(delivery.body))[1],
        request_url=request_url,
        reprocessable=processing.REPROCESSABLE,
    )


@bp.post("/events/<int:delivery_id>/reprocess")
@admin_required
def reprocess(delivery_id: int):  # type: ignore[no-untyped-def]
    try:
        outcome = processing.reprocess(processing.current_inbox(), delivery_id)
    except processing.DeliveryNotFound:
        abort(404)
    except processing.NotReprocessable as exc:
        flash(f"Nothing to do: {exc}.", "warning")
    else:
        delivery = db.session.get(Delivery, delivery_id)
        if outcome == "failed" and delivery is not None:
            flash(f"Delivery {delivery_id} failed again: {delivery.error}", "error")
        else:
            flash(f"Delivery {delivery_id} reprocessed: {outcome}.", "success")
    return redirect(_back())


@bp.post("/events/reprocess-failed")
@admin_required
def reprocess_failed():  # type: ignore[no-untyped-def]
    counts = processing.reprocess_failed(processing.current_inbox())
    if not counts:
        flash("There were no failed deliveries to reprocess.", "info")
    else:
        summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
        flash(f"Reprocessed {sum(counts.values())} delivery(ies): {summary}.", "success")
    return redirect(_back())


def _back() -> str:
    """Back to the event log page the form was on (same-site paths only)."""
    target = safe_next(request.form.get("next"))  # no other host, no header-breaking bytes
    if target is not None and target.startswith("/events"):
        return target
    return url_for("webhooks.event_log")
