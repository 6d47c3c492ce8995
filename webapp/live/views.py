"""The dashboard home (the live Scheduling Requests table), its stream, export and detail."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from webapp.display import http_url
from webapp.extensions import db
from webapp.listing import Keyset, PageRequest, capped_count, fetch_window, make_pager
from webapp.live import bp
from webapp.live.capacity import StreamsFull, client_gone_check, stream_slots
from webapp.live.detail import RequestNotFound, load_detail
from webapp.live.export import csv_lines
from webapp.live.queries import (
    PageFilters,
    conditions,
    decode_page_cursor,
    encode_page_cursor,
    public_link_choices,
    row_select,
    status_choices,
)
from webapp.live.rows import rows_from_results
from webapp.live.stream import (
    StreamSettings,
    event_stream,
    parse_cursor,
    resume_cursor,
    start_cursor,
)
from webapp.models import PublicLink, SchedulingRequest, TrackedLink, utcnow
from webapp.pagination import InvalidCursor
from webapp.urls import short_url, tracked_link_path


def _exists(model: type) -> bool:
    return db.session.execute(select(model.id).limit(1)).first() is not None  # type: ignore[attr-defined]


def _first_run_state() -> dict[str, bool] | None:
    """Which setup steps are done, while the install has no Scheduling Request at all."""
    if _exists(SchedulingRequest):
        return None
    return {"public_link": _exists(PublicLink), "tracked_link": _exists(TrackedLink)}


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    filters = PageFilters.from_args(request.args)
    for name, value in filters.ignored.items():
        flash(f"Ignored the filter {name}={value!r}: it is not a valid value.", "warning")
    resolved = filters.resolve(current_user.id)
    wanted = PageRequest.from_args(request.args)
    # Taken before the rows are read: a change in between is sent again, never missed.
    feed_cursor = start_cursor()
    try:
        window = fetch_window(row_select(resolved), REQUEST_KEYSET, wanted, _rows)
    except InvalidCursor:
        flash("That page link is not valid; showing the newest requests instead.", "warning")
        wanted = PageRequest(size=wanted.size)
        window = fetch_window(row_select(resolved), REQUEST_KEYSET, wanted, _rows)
    rows = rows_from_results(window.items)
    args = filters.query_args()
    total = capped_count(select(SchedulingRequest.id).where(*conditions(resolved)))
    return render_template(
        "live/index.html",
        rows=rows,
        filters=filters,
        cursor=None if window.start == 1 and window.prev_cursor is None else "1",
        pager=make_pager(window, wanted, "live.index", args, total, noun="requests"),
        first_url=url_for("live.index", **args, **wanted.size_args()),
        stream_url=url_for("live.stream", **args),
        export_url=url_for("live.export", **args),
        feed_cursor=feed_cursor,
        statuses=status_choices(filters.status),
        public_links=public_link_choices(),
        setup=_first_run_state() if not rows and wanted.is_first and not filters.active else None,
    )


def _rows(statement):  # type: ignore[no-untyped-def]
    return list(db.session.execute(statement))


REQUEST_KEYSET: Keyset = Keyset(
    columns=(SchedulingRequest.updated_at, SchedulingRequest.id),
    descending=True,
    encode=lambda result: encode_page_cursor(result[0]),
    decode=decode_page_cursor,
)


@bp.get("/live/stream")
def stream():  # type: ignore[no-untyped-def]
    filters = PageFilters.from_args(request.args)
    # Plain values only: the generator outlives this request's database session.
    user_id, session_version = current_user.id, current_user.session_version
    cursor = resume_cursor(
        parse_cursor(request.headers.get("Last-Event-ID"), request.args.get("cursor"))
    )
    generator = event_stream(
        filters.resolve(user_id),
        cursor,
        StreamSettings.from_config(current_app.config),
        user_id=user_id,
        session_version=session_version,
        client_gone=client_gone_check(request.environ),
    )
    # Taken last, and given back when the response closes (the stream ended, or its client
    # went): nothing can raise between taking it and handing it to the response.
    try:
        slot = stream_slots(current_app).acquire(user_id)
    except StreamsFull as full:
        # Plain text, no page to render: a refusal must cost next to nothing, and the
        # EventSource asking never shows a body (static/js/live.js says "paused").
        return Response(
            full.message + "\n",
            429,
            mimetype="text/plain",
            headers={"Retry-After": str(full.retry_after), "Cache-Control": "no-store"},
        )
    response = Response(
        stream_with_context(generator),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    response.call_on_close(slot.release)
    return response


@bp.get("/requests/export.csv")
def export():  # type: ignore[no-untyped-def]
    filters = PageFilters.from_args(request.args).resolve(current_user.id)
    filename = f"scheduling-requests-{utcnow():%Y%m%d-%H%M%S}.csv"
    return Response(
        stream_with_context(csv_lines(filters)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


# path: Cronofy owns the id, and one with a "/" in it must still have a page.
@bp.get("/requests/<path:scheduling_request_id>")
def request_detail(scheduling_request_id: str):  # type: ignore[no-untyped-def]
    try:
        detail = load_detail(scheduling_request_id)
    except RequestNotFound:
        abort(404, "No Scheduling Request has that id.")
    tracked_link = detail.tracked_link
    return render_template(
        "live/detail.html",
        detail=detail,
        sr=detail.request,
        http_url=http_url,
        tracked_link_url=tracked_link_path(tracked_link.id) if tracked_link else None,
        short_url=short_url(tracked_link.slug) if tracked_link else None,
    )
