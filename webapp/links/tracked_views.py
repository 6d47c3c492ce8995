"""Pages for tracked links: list, create, detail/edit, disable (CSV pages: csv_views.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from webapp.links import bp, queries, service, windows
from webapp.links.followup import DEFAULT_IDLE_HOURS, STATE_WORDS
from webapp.links.inputs import InvalidInput, parse_id
from webapp.links.list_args import list_filters
from webapp.links.timeline import link_timeline
from webapp.links.validation import local_time_parser
from webapp.listing import PageRequest, make_pager
from webapp.localtime import local_input, viewer_zone, viewer_zone_name
from webapp.models import UTM_KEYS, TrackedLink
from webapp.pagination import InvalidCursor
from webapp.savedviews.queries import clean_query, views_for_page
from webapp.urls import request_url, safe_next, short_url


@bp.get("/links")
def tracked_links():  # type: ignore[no-untyped-def]
    filters, args = list_filters()
    wanted = PageRequest.from_args(request.args)
    try:
        window = windows.tracked_links_window(filters, wanted)
    except InvalidCursor:
        return redirect(url_for("links.tracked_links", **args))
    ids = [link.id for link in window.items]
    total = windows.count_tracked_links(filters)
    return render_template(
        "links/tracked_links.html",
        links=window.items,
        clicks=queries.click_counts(ids),
        bookings=queries.booking_states(ids),
        filters=filters,
        args=args,
        batch=queries.get_batch(filters.batch_id) if filters.batch_id else None,
        public_links=queries.all_public_links(),
        pager=make_pager(window, wanted, "links.tracked_links", args, total, "tracked links"),
        first_page=wanted.is_first,
        filtered=bool(filters.q or filters.public_link_id or filters.batch_id or filters.state),
        now=datetime.now(UTC),
        state_words=STATE_WORDS,
        idle_hours=int(args.get("idle_hours", DEFAULT_IDLE_HOURS)),
        saved_views=views_for_page("links"),
        saved_query=clean_query("links", urlencode(args)),
        recent_clicks=windows.count_recent_clicks(filters),
        **_helpers(),
    )


@bp.route("/links/new", methods=["GET", "POST"])
def tracked_link_new():  # type: ignore[no-untyped-def]
    if request.method == "POST":
        values = _tracked_link_form()
        try:
            link = service.create_tracked_link(current_user, values, parse_expiry=_expiry_parser())
        except InvalidInput as invalid:
            return _tracked_form_page(values, invalid.fields, status=422)
        flash("Tracked link created. Copy its short URL below and send it.", "success")
        return redirect(url_for("links.tracked_link_detail", link_id=link.id))
    raw_public = request.args.get("public_link", "")
    values = {"public_link_id": parse_id(raw_public), "utm": {}}
    return _tracked_form_page(values, {})


@bp.get("/links/<int:link_id>")
def tracked_link_detail(link_id: int):  # type: ignore[no-untyped-def]
    """The link's facts and short URL first; editing is one click away."""
    link = _tracked_link(link_id)
    return render_template(
        "links/tracked_link.html",
        link=link,
        clicks=queries.click_counts([link.id]).get(link.id, 0),
        booking=queries.booking_states([link.id]).get(link.id),
        visits=queries.recent_visits(link.id),
        visit_total=queries.visit_count(link.id),
        timeline=link_timeline(link),
        now=datetime.now(UTC),
        **_helpers(),
    )


@bp.get("/links/<int:link_id>/edit")
def tracked_link_edit(link_id: int):  # type: ignore[no-untyped-def]
    link = _changeable_tracked_link(link_id)
    return _edit_page(link, _values_of(link), {})


# The edit form posts to the link's own address.
@bp.post("/links/<int:link_id>")
def tracked_link_update(link_id: int):  # type: ignore[no-untyped-def]
    link = _changeable_tracked_link(link_id)
    values = _tracked_link_form()
    try:
        service.update_tracked_link(current_user, link_id, values, parse_expiry=_expiry_parser())
    except InvalidInput as invalid:
        return _edit_page(link, values, invalid.fields, status=422)
    flash("Tracked link saved.", "success")
    return redirect(url_for("links.tracked_link_detail", link_id=link_id))


def _expiry_parser():  # type: ignore[no-untyped-def]
    """The expiry field takes the person's own local time (their zone, else UTC)."""
    return local_time_parser(viewer_zone(), viewer_zone_name())


def _tracked_link(link_id: int) -> TrackedLink:
    try:
        return service.get_tracked_link(link_id)
    except service.NotFound:
        abort(404)


def _changeable_tracked_link(link_id: int) -> TrackedLink:
    link = _tracked_link(link_id)
    if not service.may_change(current_user, link.created_by_id):
        abort(403, "Only the person who created this tracked link, or an admin, can change it.")
    return link


def _edit_page(
    link: TrackedLink, values: dict[str, Any], errors: dict[str, str], status: int = 200
):  # type: ignore[no-untyped-def]
    page = render_template(
        "links/tracked_link_edit.html",
        link=link,
        values=values,
        errors=errors,
        public_links=_public_link_choices(link.public_link_id),
    )
    return page, status


@bp.post("/links/<int:link_id>/disable")
def tracked_link_disable(link_id: int):  # type: ignore[no-untyped-def]
    _set_disabled(link_id, True)
    flash(
        "Tracked link disabled: invitees who open it are told it is no longer available.", "success"
    )
    return redirect(_back_to(link_id))


@bp.post("/links/<int:link_id>/enable")
def tracked_link_enable(link_id: int):  # type: ignore[no-untyped-def]
    _set_disabled(link_id, False)
    flash("Tracked link enabled.", "success")
    return redirect(_back_to(link_id))


def _back_to(link_id: int) -> str:
    """Where the disable/enable form came from: a page of the list, else the link's page."""
    target = safe_next(request.form.get("next"))
    if target and target.startswith("/links"):
        return target
    return url_for("links.tracked_link_detail", link_id=link_id)


def _set_disabled(link_id: int, disabled: bool) -> None:
    try:
        service.set_tracked_link_disabled(current_user, link_id, disabled)
    except service.NotFound:
        abort(404)
    except service.NotAllowed:
        abort(403, "Only the person who created this tracked link, or an admin, can change it.")


def _helpers() -> dict[str, Any]:
    return {
        "short_url": short_url,
        "request_url": request_url,
        "may_change": lambda link: service.may_change(current_user, link.created_by_id),
    }


def _tracked_link_form() -> dict[str, Any]:
    form = request.form
    raw_public = form.get("public_link_id", "")
    return {
        "public_link_id": parse_id(raw_public),
        "correlation_id": form.get("correlation_id", ""),
        "label": form.get("label", ""),
        "utm": {key: form.get(key, "") for key in UTM_KEYS},
        "expires_at": form.get("expires_at", ""),
        "allow_repeat_bookings": bool(form.get("allow_repeat_bookings")),
    }


def _values_of(link: TrackedLink) -> dict[str, Any]:
    return {
        "public_link_id": link.public_link_id,
        "correlation_id": link.correlation_id,
        "label": link.label,
        "utm": {key: getattr(link, key) or "" for key in UTM_KEYS},
        "expires_at": local_input(link.expires_at),
        "allow_repeat_bookings": link.allow_repeat_bookings,
    }


def _public_link_choices(current_id: int | None) -> list[Any]:
    choices = queries.active_public_links()
    if current_id is not None and all(link.id != current_id for link in choices):
        current = service.get_public_link(current_id)
        choices.append(current)  # keep a deactivated current link selectable
    return choices


def _tracked_form_page(values: dict[str, Any], errors: dict[str, str], *, status: int = 200):  # type: ignore[no-untyped-def]
    return (
        render_template(
            "links/tracked_link_form.html",
            values=values,
            errors=errors,
            public_links=queries.active_public_links(),
        ),
        status,
    )
