"""Saving the current filters of a list page under a name, and deleting a saved view."""

from __future__ import annotations

from flask import abort, flash, redirect, request
from flask_login import current_user

from webapp.extensions import db
from webapp.models import User
from webapp.savedviews import bp, service
from webapp.savedviews.queries import PAGES, view_url
from webapp.urls import safe_next


def _me() -> User:
    return db.session.get(User, int(current_user.id))  # the loaded user, not its proxy


@bp.post("/views")
def save():  # type: ignore[no-untyped-def]
    page = request.form.get("page", "")
    if page not in PAGES:
        abort(400, "This page has no saved views.")
    try:
        view = service.save_view(
            _me(),
            page,
            request.form.get("name", ""),
            request.form.get("query", ""),
            shared=bool(request.form.get("shared")),
        )
    except service.Invalid as invalid:
        for problem in invalid.fields.values():
            flash(f"The view was not saved: {problem}", "error")
        return redirect(safe_next(request.form.get("next")) or view_url(page, ""), 303)
    flash(f"Saved the view “{view.name}”{' for everyone' if view.shared else ''}.", "success")
    return redirect(view_url(page, view.query), 303)


@bp.post("/views/<int:view_id>/delete")
def delete(view_id: int):  # type: ignore[no-untyped-def]
    try:
        view = service.delete_view(_me(), view_id)
    except service.NotFound:
        abort(404)
    flash(f"Deleted the view “{view.name}”.", "success")
    return redirect(safe_next(request.form.get("next")) or view_url(view.page, ""), 303)
