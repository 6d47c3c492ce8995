"""Pages for tracked links: list, create, detail/edit, disable (CSV pages: csv_views.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from webapp.links import bp, queries, service
from webapp.links.inputs import InvalidInput, parse_id
from webapp.links.validation import parse_utc_local
from webapp.links.views import PAGE_SIZE, get_page_cursor
from webapp.models import UTM_KEYS, TrackedLink
from webapp.pagination import InvalidCursor
from webapp.urls import request_url, safe_next, short_url


def list_filters() -> tuple[queries.LinkFilters, dict[str, str]]:
    """The list's filters from the query string, and the args that reproduce them."""
    default_owner = queries.OWNER_ALL if current_user.is_admin else queries.OWNER_MINE
    owner = request.args.get("owner", default_owner)
    if owner not in (queries.OWNER_MINE, queries.OWNER_ALL):
        owner = default_owner
    raw_public = request.args.get("public_link", "")
    public_link_id = parse_id(raw_public)
    q = request.args.get("q", "").replace("\x00", "").strip()[:200]
    args = {"q": q, "public_link": str(public_link_id or ""), "owner": owner}
    filters = queries.LinkFilters(
        q=q, public_link_id=public_link_id, owner=owner, user_id=current_user.id
    )
    return filters, {key: value for key, value in args.items() if value}


@bp.get("/links")
def tracked_links():  # type: ignore[no-untyped-def]
    filters, args = list_filters()
    cursor = get_page_cursor()
    try:
        page = queries.tracked_links_page(filters, cursor, PAGE_SIZE)
    except InvalidCursor:
        return redirect(url_for("links.tracked_links", **args))
    ids = [link.id for link in page.items]
    return render_template(
        "links/tracked_links.html",
        links=page.items,
        clicks=queries.click_counts(ids),
        bookings=queries.booking_states(ids),
        filters=filters,
        args=args,
        public_links=queries.all_public_links(),
        next_url=url_for("links.tracked_links", cursor=page.next_cursor, **args)
        if page.next_cursor
        else None,
        first_url=url_for("links.tracked_links", **args) if cursor else None,
        filtered=bool(filters.q or filters.public_link_id),
        now=datetime.now(UTC),
        **_helpers(),
    )


@bp.route("/links/new", methods=["GET", "POST"])
def tracked_link_new():  # type: ignore[no-untyped-def]
    if request.method == "POST":
        values = _tracked_link_form()
        try:
            link = service.create_tracked_link(current_user, values, parse_expiry=parse_utc_local)
        except InvalidInput as invalid:
            return _tracked_form_page(values, invalid.fields, status=422)
        flash("Tracked link created. Copy its short URL below and send it.", "success")
        return redirect(url_for("links.tracked_link_detail", link_id=link.id))
    raw_public = request.args.get("public_link", "")
    values = {"public_link_id": parse_id(raw_public), "utm": {}}
    return _tracked_form_page(values, {})


@bp.route("/links/<int:link_id>", methods=["GET", "POST"])
def tracked_link_detail(link_id: int):  # type: ignore[no-untyped-def]
    try:
        link = service.get_tracked_link(link_id)
    except service.NotFound:
        abort(404)
    errors: dict[str, str] = {}
    values = _values_of(link)
    status = 200
    if request.method == "POST":
        if not service.may_change(current_user, link.created_by_id):
            abort(403, "Only the creator of this tracked link or an admin can change it.")
        values = _tracked_link_form()
        try:
            service.update_tracked_link(current_user, link_id, values, parse_expiry=parse_utc_local)
        except InvalidInput as invalid:
            errors, status = invalid.fields, 422
        else:
            flash("Tracked link saved.", "success")
            return redirect(url_for("links.tracked_link_detail", link_id=link_id))
    booking = queries.booking_states([link.id]).get(link.id)
    page = render_template(
        "links/tracked_link.html",
        link=link,
        values=values,
        errors=errors,
        public_links=_public_link_choices(link.public_link_id),
        clicks=queries.click_counts([link.id]).get(link.id, 0),
        booking=booking,
        visits=queries.recent_visits(link.id),
        visit_total=queries.visit_count(link.id),
        now=datetime.now(UTC),
        **_helpers(),
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
        abort(403, "Only the creator of this tracked link or an admin can change it.")


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
        "expires_at": link.expires_at.strftime("%Y-%m-%dT%H:%M") if link.expires_at else "",
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
