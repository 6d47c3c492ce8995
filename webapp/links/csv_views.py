"""Tracked links and CSV: the bulk upload, its result page and download, the template,
and the export of the filtered list."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from webapp.links import bp, queries
from webapp.links.bulk import BulkRejected, import_tracked_links, valid_key
from webapp.links.csv_io import BULK_COLUMNS, MAX_BULK_ROWS, csv_lines, csv_text, template_csv
from webapp.links.inputs import parse_id
from webapp.links.list_args import list_filters
from webapp.links.queries import OWNER_ALL
from webapp.models import UTM_KEYS, LinkBatch, utcnow
from webapp.templating import iso_utc
from webapp.urls import short_url

EXPORT_COLUMNS = (
    "correlation_id",
    "label",
    *UTM_KEYS,
    "public_link",
    "url",
    "click_count",
    "created_at",
    "disabled",
    "last_clicked_at",  # by a person; the follow-up lists filter on it
    "booking_status",  # the latest Scheduling Request's status, blank when none arrived
)


@bp.get("/links/bulk")
def tracked_links_bulk():  # type: ignore[no-untyped-def]
    return _bulk_page(None, None, new_upload_key())


@bp.post("/links/bulk")
def tracked_links_bulk_upload():  # type: ignore[no-untyped-def]
    raw_public = request.form.get("public_link_id", "")
    public_link_id = parse_id(raw_public)
    key = request.form.get("idempotency_key", "")
    if not valid_key(key):
        key = new_upload_key()  # a form from before keys existed (or a script): no repeats
    upload = request.files.get("file")
    raw = upload.read() if upload and upload.filename else None
    try:
        outcome = import_tracked_links(
            current_user,
            public_link_id,
            raw,
            idempotency_key=key,
            now=utcnow(),
            filename=(upload.filename or "") if upload else "",
        )
    except BulkRejected as rejected:
        return _bulk_page(public_link_id, rejected, key), 422
    if not outcome.created:
        flash("This upload was already done: nothing new was created.", "info")
    return redirect(url_for("links.tracked_links_batch", batch_id=outcome.batch_id), 303)


@bp.get("/links/bulk/template.csv")
def tracked_links_bulk_template():  # type: ignore[no-untyped-def]
    return Response(
        template_csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="tracked-links-template.csv"'},
    )


@bp.get("/links/bulk/<int:batch_id>")
def tracked_links_batch(batch_id: int):  # type: ignore[no-untyped-def]
    """What one upload made: how many links, the CSV with their short URLs, the links."""
    batch = queries.get_batch(batch_id) or abort(404)
    return render_template(
        "links/bulk_result.html",
        batch=batch,
        extra_downloads=batch_downloads(batch),
        links_url=url_for("links.tracked_links", batch=batch.id, owner=OWNER_ALL),
    )


def batch_downloads(batch: LinkBatch) -> list[tuple[str, str]]:
    """Downloads offered beside the CSV on a batch's page, as (label, url) pairs: the
    batch's QR codes, a PNG per link in a ZIP file (webapp/links/qr_views.py)."""
    if not batch.link_count:
        return []
    return [
        ("QR codes (ZIP of PNGs)", url_for("links.tracked_links_batch_qr_zip", batch_id=batch.id))
    ]


@bp.get("/links/bulk/<int:batch_id>/links.csv")
def tracked_links_batch_csv(batch_id: int):  # type: ignore[no-untyped-def]
    batch = queries.get_batch(batch_id) or abort(404)
    header = [*batch.columns.split(","), "url"]
    rows = []
    for link in queries.batch_links(batch.id):
        values = {"correlation_id": link.correlation_id, "label": link.label}
        values.update({key: getattr(link, key) or "" for key in UTM_KEYS})
        rows.append([values.get(name, "") for name in header[:-1]] + [short_url(link.slug)])
    stamp = batch.created_at.strftime("%Y%m%d-%H%M%S")
    return Response(
        csv_text(header, rows, excel=True),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="tracked-links-{stamp}.csv"'},
    )


def new_upload_key() -> str:
    return secrets.token_urlsafe(24)


def _bulk_page(public_link_id: int | None, rejected: BulkRejected | None, key: str) -> str:
    return render_template(
        "links/bulk.html",
        public_links=queries.active_public_links(),
        public_link_id=public_link_id,
        rejected=rejected,
        columns=BULK_COLUMNS,
        idempotency_key=key,
        max_rows=MAX_BULK_ROWS,
        shown_errors=(rejected.row_errors[:200] if rejected else []),
    )


@bp.get("/links/export.csv")
def tracked_links_export():  # type: ignore[no-untyped-def]
    filters, _ = list_filters()

    def rows():  # type: ignore[no-untyped-def]
        for batch in queries.iter_tracked_links(filters):
            ids = [link.id for link in batch]
            counts = queries.click_counts(ids)
            bookings = queries.booking_states(ids)
            for link in batch:
                booking = bookings.get(link.id)
                yield [
                    link.correlation_id,
                    link.label,
                    *(getattr(link, key) or "" for key in UTM_KEYS),
                    link.public_link.name,
                    short_url(link.slug),
                    counts.get(link.id, 0),
                    iso_utc(link.created_at),
                    "true" if link.disabled_at else "false",
                    iso_utc(link.last_clicked_at),
                    booking.status if booking else "",
                ]

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        stream_with_context(csv_lines(EXPORT_COLUMNS, rows())),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="tracked-links-{stamp}.csv"'},
    )
