"""QR codes of tracked links: the SVG and PNG of one link, and a ZIP of a bulk upload's."""

from __future__ import annotations

from flask import Response, abort, request

from webapp.links import bp, queries, service
from webapp.links.qr import file_stem, parse_scale, png_zip, qr_png, qr_svg
from webapp.models import TrackedLink
from webapp.urls import short_url


def _link(link_id: int) -> TrackedLink:
    try:
        return service.get_tracked_link(link_id)
    except service.NotFound:
        abort(404)


def _answer(body: bytes, mimetype: str, filename: str) -> Response:
    """Inline (shown on the link's page), or a download with `?download=1`."""
    disposition = "attachment" if request.args.get("download") == "1" else "inline"
    return Response(
        body,
        mimetype=mimetype,
        # No Cache-Control of its own: like every signed-in answer it is no-store
        # (webapp/staff_pages.py), so a shared computer keeps no copy of a short link.
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )


@bp.get("/links/<int:link_id>/qr.svg")
def tracked_link_qr_svg(link_id: int):  # type: ignore[no-untyped-def]
    link = _link(link_id)
    url = short_url(link.slug)
    body = qr_svg(url, title=f"QR code of {url}")
    return _answer(body, "image/svg+xml", f"{file_stem(link.correlation_id)}-qr.svg")


@bp.get("/links/<int:link_id>/qr.png")
def tracked_link_qr_png(link_id: int):  # type: ignore[no-untyped-def]
    link = _link(link_id)
    scale = parse_scale(request.args.get("scale"))
    if scale is None:
        abort(400, "scale must be a whole number of pixels per module, from 1 to 40.")
    body = qr_png(short_url(link.slug), scale)
    return _answer(body, "image/png", f"{file_stem(link.correlation_id)}-qr.png")


@bp.get("/links/bulk/<int:batch_id>/qr.zip")
def tracked_links_batch_qr_zip(batch_id: int):  # type: ignore[no-untyped-def]
    """One PNG per link of a bulk upload, named by correlation ID, streamed as it is made."""
    batch = queries.get_batch(batch_id) or abort(404)
    codes = [(link.correlation_id, short_url(link.slug)) for link in queries.batch_links(batch.id)]
    stamp = batch.created_at.strftime("%Y%m%d-%H%M%S")
    return Response(
        png_zip(codes),
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="tracked-links-qr-{stamp}.zip"',
            "Cache-Control": "no-store",
        },
    )
