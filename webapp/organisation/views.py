"""The profile's section of the settings page (its own form and route), the logo itself,
and `organisation` in every template."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    request,
    url_for,
)
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.local import LocalProxy

from webapp.auth.access import admin_required, public
from webapp.extensions import db
from webapp.organisation import bp, service
from webapp.organisation.logos import MAX_LOGO_BYTES, file_extension
from webapp.security import CONTENT_SECURITY_POLICY

log = logging.getLogger(__name__)
PROFILE_KEY = "organisation_profile"
FORM_KEY = "organisation_form"
IMG_SRC = "img-src 'self' data:"
# An SVG opened at its own address runs nothing and loads nothing.
LOGO_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def current_profile() -> service.Profile:
    """The profile, read once per request and only when a page asks for it.

    An error page may be rendered because the database is failing: it then shows no
    profile rather than failing again.
    """
    if PROFILE_KEY not in g:
        try:
            profile = service.load_profile()
        except SQLAlchemyError:
            log.warning("organisation profile unavailable", exc_info=True)
            db.session.rollback()
            profile = service.Profile()
        setattr(g, PROFILE_KEY, profile)
    return getattr(g, PROFILE_KEY)


@bp.post("/settings/organisation")
@admin_required
def save():  # type: ignore[no-untyped-def]
    form = request.form
    upload = request.files.get("logo_file")
    data = upload.read(MAX_LOGO_BYTES + 1) if upload and upload.filename else None
    change = service.ProfileChange(
        name=form.get("name", ""),
        contact_email=form.get("contact_email", ""),
        logo_url=form.get("logo_url", ""),
        logo_file=data,
        remove_logo=form.get("remove_logo") == "1",
    )
    try:
        service.save_profile(change)
    except service.InvalidProfile as invalid:
        # The settings page again, with this section's values and what to fix.
        setattr(g, FORM_KEY, {"values": dict(form), "errors": invalid.fields})
        flash("The organisation profile was not saved: see the marked fields.", "error")
        page = current_app.view_functions["webhooks.settings"]()
        return page, 422
    flash("Organisation profile saved. Invitees see it on the pages they open.", "success")
    return redirect(url_for("webhooks.settings") + "#organisation-heading")


@bp.get("/organisation/logo")
@public
def logo():  # type: ignore[no-untyped-def]
    found = service.uploaded_logo()
    if found is None:
        abort(404)
    data, content_type = found
    response = Response(data, mimetype=content_type)
    response.headers["Content-Security-Policy"] = LOGO_POLICY
    response.headers["Content-Disposition"] = (
        f'inline; filename="logo.{file_extension(content_type)}"'
    )
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def _template_context() -> dict[str, Any]:
    return {
        "organisation": LocalProxy(current_profile),
        "organisation_form": LocalProxy(lambda: g.get(FORM_KEY) or {"values": {}, "errors": {}}),
    }


def _allow_logo_origin(response: Response) -> Response:
    """A page that showed a logo from another site may load images from that site."""
    profile = g.get(PROFILE_KEY)
    if profile is not None and profile.logo_origin and "text/html" in response.content_type:
        policy = response.headers.get("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers["Content-Security-Policy"] = policy.replace(
            IMG_SRC, f"{IMG_SRC} {profile.logo_origin}"
        )
    return response


def init_app(app: Flask) -> None:
    app.context_processor(_template_context)
    app.after_request(_allow_logo_origin)
