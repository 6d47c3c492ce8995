"""Pages for Public Links; tracked-link pages are in tracked_views.py (same blueprint).

Views stay thin: read the form, call a service in webapp/links/service.py, render or
redirect. Invalid input re-renders the form with the person's values and field errors.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.links import bp, queries, service, windows
from webapp.links.inputs import InvalidInput
from webapp.links.sandbox import sandbox_origin
from webapp.listing import PageRequest, make_pager
from webapp.pagination import InvalidCursor

PAGE_SIZE = 50
SANDBOX_DEMO_NAME = "Sandbox demo"
SANDBOX_DEMO_PATH = "/sandbox/pls/demo"


@bp.get("/public-links")
def public_links():  # type: ignore[no-untyped-def]
    """Every Public Link with its owner and how many tracked links use it."""
    wanted = PageRequest.from_args(request.args)
    try:
        window = windows.public_links_window(wanted)
    except InvalidCursor:
        return redirect(url_for("links.public_links"))
    counts = queries.tracked_link_counts([link.id for link in window.items])
    origin = sandbox_origin()
    return render_template(
        "links/public_links.html",
        sandbox_url=f"{origin}{SANDBOX_DEMO_PATH}" if origin else None,
        links=window.items,
        counts=counts,
        pager=make_pager(
            window, wanted, "links.public_links", {}, windows.count_public_links(), "Public Links"
        ),
        first_page=wanted.is_first,
        may_change=lambda link: service.may_change(current_user, link.owner_id),
    )


@bp.route("/public-links/new", methods=["GET", "POST"])
def public_link_new():  # type: ignore[no-untyped-def]
    origin = sandbox_origin()
    if request.method == "POST":
        values = _public_link_form()
        try:
            link = service.create_public_link(current_user, values, sandbox_origin=origin)
        except InvalidInput as invalid:
            return _public_link_form_page(values, invalid.fields, status=422)
        flash(f"Public Link “{link.name}” registered.", "success")
        return redirect(url_for("links.public_links"))
    values = {"name": request.args.get("name", ""), "url": request.args.get("url", "")}
    return _public_link_form_page(values, {})


@bp.post("/public-links/sandbox")
def public_link_sandbox():  # type: ignore[no-untyped-def]
    """One click on the first-run page: register the sandbox's ready booking page."""
    origin = sandbox_origin()
    if origin is None:
        abort(404)
    values = {"name": SANDBOX_DEMO_NAME, "url": f"{origin}{SANDBOX_DEMO_PATH}"}
    existing = queries.public_link_with_url(values["url"])
    if existing is not None:  # a second click, or a colleague was quicker
        flash(f"The sandbox link is already registered as “{existing.name}”.", "info")
        return redirect(url_for("live.index"))
    try:
        link = service.create_public_link(current_user, values, sandbox_origin=origin)
    except InvalidInput:  # the sandbox's own URL is always valid while the sandbox is on
        abort(400)
    flash(f"Public Link “{link.name}” registered. Next, create a tracked link for it.", "success")
    return redirect(url_for("live.index"))


@bp.route("/public-links/<int:link_id>/edit", methods=["GET", "POST"])
def public_link_edit(link_id: int):  # type: ignore[no-untyped-def]
    link = _changeable_public_link(link_id)
    if request.method == "POST":
        values = _public_link_form()
        try:
            service.update_public_link(
                current_user, link_id, values, sandbox_origin=sandbox_origin()
            )
        except InvalidInput as invalid:
            return _public_link_form_page(values, invalid.fields, link=link, status=422)
        flash("Public Link saved.", "success")
        return redirect(url_for("links.public_links"))
    return _public_link_form_page({"name": link.name, "url": link.url}, {}, link=link)


@bp.post("/public-links/<int:link_id>/deactivate")
def public_link_deactivate(link_id: int):  # type: ignore[no-untyped-def]
    link = _set_active(link_id, False)
    flash(f"“{link.name}” deactivated: its tracked links now tell invitees so.", "success")
    return redirect(url_for("links.public_links"))


@bp.post("/public-links/<int:link_id>/reactivate")
def public_link_reactivate(link_id: int):  # type: ignore[no-untyped-def]
    link = _set_active(link_id, True)
    flash(f"“{link.name}” reactivated.", "success")
    return redirect(url_for("links.public_links"))


def _set_active(link_id: int, active: bool):  # type: ignore[no-untyped-def]
    _changeable_public_link(link_id)
    return service.set_public_link_active(current_user, link_id, active)


def _changeable_public_link(link_id: int):  # type: ignore[no-untyped-def]
    try:
        return service.get_public_link(link_id, current_user)
    except service.NotFound:
        abort(404)
    except service.NotAllowed:
        abort(403, "Only the owner of this Public Link or an admin can change it.")


def _public_link_form() -> dict[str, Any]:
    return {"name": request.form.get("name", ""), "url": request.form.get("url", "")}


def _public_link_form_page(
    values: dict[str, Any], errors: dict[str, str], *, link: Any = None, status: int = 200
):  # type: ignore[no-untyped-def]
    origin = sandbox_origin()
    return (
        render_template(
            "links/public_link_form.html",
            values=values,
            errors=errors,
            link=link,
            sandbox_url=f"{origin}{SANDBOX_DEMO_PATH}" if origin else None,
        ),
        status,
    )
