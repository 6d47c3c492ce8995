"""The admin event log: every delivery, its processing outcome, and refused hits."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from webapp.audit.reprocessing import record_reprocessed, record_reprocessed_failed
from webapp.auth.access import admin_required
from webapp.display import decode_payload
from webapp.extensions import db
from webapp.listing import (
    PageRequest,
    capped_count,
    fetch_window,
    make_pager,
    one_column_keyset,
)
from webapp.models import Delivery
from webapp.pagination import InvalidCursor
from webapp.urls import request_url, safe_next
from webapp.webhooks import bp, processing, queries, refusals


def _deliveries(statement):  # type: ignore[no-untyped-def]
    return list(db.session.execute(statement).scalars())


DELIVERY_KEYSET = one_column_keyset(Delivery.id, lambda delivery: delivery.id, descending=True)


@bp.get("/events")
@admin_required
def event_log():  # type: ignore[no-untyped-def]
    refusals.flush(current_app)  # this process's counts; others write theirs within seconds
    db.session.commit()  # a new read, which sees the counts just written
    status = request.args.get("status") or None
    if status not in queries.STATUSES:
        status = None
    wanted = PageRequest.from_args(request.args)
    listed = select(Delivery).where(Delivery.status == status) if status else select(Delivery)
    try:
        window = fetch_window(listed, DELIVERY_KEYSET, wanted, _deliveries)
    except InvalidCursor:
        flash("That page link is not valid any more; showing the newest deliveries.", "warning")
        return redirect(url_for("webhooks.event_log", status=status))
    args = {"status": status} if status else {}
    total = capped_count(listed.with_only_columns(Delivery.id))
    return render_template(
        "webhooks/event_log.html",
        deliveries=window.items,
        status=status,
        statuses=queries.STATUSES,
        pager=make_pager(window, wanted, "webhooks.event_log", args, total, "deliveries"),
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
        record_reprocessed(delivery_id, outcome)  # audit log (issue 12 §4)
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
    record_reprocessed_failed(counts)  # audit log (issue 12 §4)
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
