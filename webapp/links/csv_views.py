"""Tracked links and CSV: the bulk upload and the export of the filtered list."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, render_template, request, stream_with_context
from flask_login import current_user

from webapp.links import bp, queries
from webapp.links.bulk import BulkRejected, import_tracked_links
from webapp.links.csv_io import BULK_COLUMNS, csv_lines, csv_text
from webapp.links.inputs import parse_id
from webapp.links.tracked_views import list_filters
from webapp.models import UTM_KEYS
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
)


@bp.route("/links/bulk", methods=["GET", "POST"])
def tracked_links_bulk():  # type: ignore[no-untyped-def]
    if request.method == "GET":
        return _bulk_page(None, None)
    raw_public = request.form.get("public_link_id", "")
    public_link_id = parse_id(raw_public)
    upload = request.files.get("file")
    raw = upload.read() if upload and upload.filename else None
    try:
        created = import_tracked_links(current_user, public_link_id, raw, short_url=short_url)
    except BulkRejected as rejected:
        return _bulk_page(public_link_id, rejected), 422
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        csv_text(created.header, created.rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="tracked-links-{stamp}.csv"'},
    )


def _bulk_page(public_link_id: int | None, rejected: BulkRejected | None) -> str:
    return render_template(
        "links/bulk.html",
        public_links=queries.active_public_links(),
        public_link_id=public_link_id,
        rejected=rejected,
        columns=BULK_COLUMNS,
        shown_errors=(rejected.row_errors[:200] if rejected else []),
    )


@bp.get("/links/export.csv")
def tracked_links_export():  # type: ignore[no-untyped-def]
    filters, _ = list_filters()

    def rows():  # type: ignore[no-untyped-def]
        for batch in queries.iter_tracked_links(filters):
            counts = queries.click_counts([link.id for link in batch])
            for link in batch:
                yield [
                    link.correlation_id,
                    link.label,
                    *(getattr(link, key) or "" for key in UTM_KEYS),
                    link.public_link.name,
                    short_url(link.slug),
                    counts.get(link.id, 0),
                    iso_utc(link.created_at),
                    "true" if link.disabled_at else "false",
                ]

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        stream_with_context(csv_lines(EXPORT_COLUMNS, rows())),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="tracked-links-{stamp}.csv"'},
    )
