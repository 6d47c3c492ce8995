"""Saving and deleting views; each one use case in one transaction, with its audit entry."""

from __future__ import annotations

from sqlalchemy import select

from webapp.audit import actions
from webapp.audit.log import Target, created, diff, record
from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import VIEW_PAGES, SavedView, User
from webapp.savedviews.queries import clean_query

MAX_NAME_LENGTH = 80
MAX_QUERY_LENGTH = 2000


class Invalid(ValueError):
    """The view cannot be saved; `fields` says why, per form field."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(fields.values()))
        self.fields = fields


class NotFound(LookupError):
    """No view of this person's has that id."""


def _target(view: SavedView) -> Target:
    return Target(actions.TARGET_SAVED_VIEW, view.id, view.name)


def _fields(view: SavedView) -> dict[str, object]:
    return {"page": view.page, "name": view.name, "query": view.query, "shared": view.shared}


def save_view(user: User, page: str, name: str, query: str, shared: bool) -> SavedView:
    """Save the page's filters under a name; the same name again replaces that view."""
    clean_name = " ".join((name or "").split())
    errors: dict[str, str] = {}
    if page not in VIEW_PAGES:
        errors["page"] = "This page has no saved views."
    if not clean_name:
        errors["name"] = "Give the view a name."
    elif len(clean_name) > MAX_NAME_LENGTH:
        errors["name"] = f"The name is longer than {MAX_NAME_LENGTH} characters."
    elif any(ord(char) < 0x20 or ord(char) == 0x7F for char in clean_name):
        errors["name"] = "The name has a control character in it."
    if errors:
        raise Invalid(errors)
    clean = clean_query(page, query)
    if len(clean) > MAX_QUERY_LENGTH:
        raise Invalid({"query": "These filters are too long to save."})
    with write_transaction():
        view = db.session.execute(
            select(SavedView).where(
                SavedView.user_id == user.id, SavedView.page == page, SavedView.name == clean_name
            )
        ).scalar_one_or_none()
        before = _fields(view) if view is not None else {}
        if view is None:
            view = SavedView(user_id=user.id, page=page, name=clean_name)
            db.session.add(view)
        view.query, view.shared = clean, shared
        db.session.flush()
        changes = diff(before, _fields(view)) if before else created(_fields(view))
        if changes:
            record(actions.SAVED_VIEW_SAVED, _target(view), changes, actor=user)
    return view


def delete_view(user: User, view_id: int) -> SavedView:
    """Delete one of the person's own views; NotFound for anyone else's."""
    with write_transaction():
        view = db.session.get(SavedView, view_id)
        if view is None or view.user_id != user.id:
            raise NotFound("no such saved view of yours")
        record(actions.SAVED_VIEW_DELETED, _target(view), diff(_fields(view), {}), actor=user)
        db.session.delete(view)
    return view
