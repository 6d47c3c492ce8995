"""The dashboard home (the live Scheduling Requests table), its stream, export and detail."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import partial
from urllib.parse import urlencode

from flask import (
    Response,
    abort,
    current_app,
    flash,
    get_template_attribute,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from webapp.auth.sessions import current_session_id
from webapp.auth.sessions import is_open as session_is_open
from webapp.display import http_url, plural
from webapp.extensions import db
from webapp.listing import Keyset, PageRequest, capped_count, fetch_window, make_pager
from webapp.live import bp
from webapp.live.capacity import StreamsFull, client_gone_check, stream_slots
from webapp.live.detail import RequestNotFound, load_detail
from webapp.live.export import csv_lines
from webapp.live.queries import (
    SORT_UPCOMING,
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
from webapp.live.test_requests import NotAllowed, NotATest, delete_test_request
from webapp.live.tiles import overview
from webapp.localtime import viewer_zone
from webapp.meetings import meeting_of
from webapp.models import PublicLink, SchedulingRequest, TrackedLink, User, utcnow
from webapp.pagination import InvalidCursor, encode_cursor
from webapp.samples import is_test_request
from webapp.savedviews.queries import clean_query, views_for_page
from webapp.statuses import DECLINED_STATUSES
from webapp.timezones import local_midnight, local_today
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
    upcoming = filters.sort == SORT_UPCOMING
    statement, keyset = row_select(resolved), REQUEST_KEYSET
    counted = select(SchedulingRequest.id).where(*conditions(resolved))
    if upcoming:
        # Meetings still to come: from today on, and not declined or cancelled.
        ahead = (
            SchedulingRequest.meeting_starts_at >= upcoming_since(),
            SchedulingRequest.status.not_in(DECLINED_STATUSES),
        )
        statement, counted, keyset = statement.where(*ahead), counted.where(*ahead), UPCOMING_KEYSET
    try:
        window = fetch_window(statement, keyset, wanted, _rows)
    except InvalidCursor:
        flash("That page link is not valid; showing the first page instead.", "warning")
        wanted = PageRequest(size=wanted.size)
        window = fetch_window(statement, keyset, wanted, _rows)
    rows = rows_from_results(window.items)
    args = filters.query_args()
    total = capped_count(counted)
    return render_template(
        "live/index.html",
        rows=rows,
        filters=filters,
        cursor=None if window.start == 1 and window.prev_cursor is None else "1",
        upcoming=upcoming,
        saved_views=views_for_page("requests"),
        saved_query=clean_query("requests", urlencode(args)),
        pager=make_pager(window, wanted, "live.index", args, total, noun="requests"),
        first_url=url_for("live.index", **args, **wanted.size_args()),
        stream_url=url_for("live.stream", **args),
        export_url=url_for("live.export", **args),
        feed_cursor=feed_cursor,
        statuses=status_choices(filters.status),
        public_links=public_link_choices(),
        setup=_first_run_state() if not rows and wanted.is_first and not filters.active else None,
        overview=overview(utcnow(), viewer_zone()),
    )


@bp.get("/live/tiles")
def tiles():  # type: ignore[no-untyped-def]
    """The overview tiles alone, for static/js/tiles.js to refresh them."""
    macro = get_template_attribute("live/_tiles.html", "overview_tiles")
    response = Response(str(macro(overview(utcnow(), viewer_zone()))), mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _rows(statement):  # type: ignore[no-untyped-def]
    return list(db.session.execute(statement))


REQUEST_KEYSET: Keyset = Keyset(
    columns=(SchedulingRequest.updated_at, SchedulingRequest.id),
    descending=True,
    encode=lambda result: encode_page_cursor(result[0]),
    decode=decode_page_cursor,
)
# Upcoming meetings first: by meeting start, over its index, from the start of the
# viewer's today (so this morning's meetings stay on the list all day).
UPCOMING_KEYSET: Keyset = Keyset(
    columns=(SchedulingRequest.meeting_starts_at, SchedulingRequest.id),
    descending=False,
    encode=lambda result: encode_cursor(result[0].meeting_starts_at.isoformat(), result[0].id),
    decode=decode_page_cursor,  # the same (time, id) shape
)


def upcoming_since() -> datetime:
    return local_midnight(local_today(utcnow(), viewer_zone()), viewer_zone())


@bp.get("/live/stream")
def stream():  # type: ignore[no-untyped-def]
    filters = PageFilters.from_args(request.args)
    # Plain values only: the generator outlives this request's database session.
    # The viewer's zone is read now, for the rows the generator renders later.
    user_id, session_id = current_user.id, current_session_id()
    viewer_zone()
    try:
        requested = parse_cursor(request.headers.get("Last-Event-ID"), request.args.get("cursor"))
    except InvalidCursor:
        return Response(
            "Last-Event-ID or cursor is not an event id from this stream; reload the page.\n",
            400,
            mimetype="text/plain",
            headers={"Cache-Control": "no-store"},
        )
    cursor = resume_cursor(requested)
    generator = event_stream(
        filters.resolve(user_id),
        cursor,
        StreamSettings.from_config(current_app.config),
        still_signed_in=None if session_id is None else partial(session_is_open, session_id),
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
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
    response.call_on_close(slot.release)
    return response


@bp.get("/requests/export.csv")
def export():  # type: ignore[no-untyped-def]
    # Test notifications are never exported, whatever the page shows.
    filters = replace(
        PageFilters.from_args(request.args).resolve(current_user.id), include_tests=False
    )
    filename = f"scheduling-requests-{utcnow():%Y%m%d-%H%M%S}.csv"
    return Response(
        stream_with_context(csv_lines(filters)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.post("/requests/test-notifications/delete")
def delete_test_request_view():  # type: ignore[no-untyped-def]
    """Admins delete a test notification (the settings page's sample), with its deliveries."""
    scheduling_request_id = request.form.get("scheduling_request_id", "")
    try:
        count = delete_test_request(_me(), scheduling_request_id)
    except NotAllowed:
        abort(403, "Only admins can delete test notifications.")
    except NotATest:
        abort(404, "No test notification has that id.")
    flash(
        f"Deleted the test notification and its {plural(count, 'delivery', 'deliveries')}.",
        "success",
    )
    return redirect(url_for("live.index", tests="1"), 303)


def _me() -> User:
    return db.session.get(User, int(current_user.id))  # the loaded user, not its proxy


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
        is_test=is_test_request(detail.request.scheduling_request_id),
        meeting=meeting_of(detail.request),
    )
