"""Use cases for Public Links and tracked links; the pages and the JSON API both call these.

Each writing function is one use case in one transaction (`write_transaction`). Rules about
single values live in `validation.py`; the rules that need the database (a Public Link
exists and is active, correlation IDs are unique, who may change what) live here.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.audit import actions as audit_actions  # audit log (issue 12 §4)
from webapp.audit.log import Target, created, diff, record
from webapp.audit.subjects import (
    public_link_fields,
    public_link_target,
    tracked_link_fields,
    tracked_link_target,
)
from webapp.database import write_transaction
from webapp.extensions import db
from webapp.links.inputs import MAX_ID, InvalidInput, clean_public_link, clean_tracked_link
from webapp.links.validation import generate_correlation_id, parse_aware_datetime
from webapp.models import PublicLink, TrackedLink, User, utcnow
from webapp.outbound.events import emit_tracked_link_created

LinkRow = TypeVar("LinkRow", PublicLink, TrackedLink)


class NotFound(LookupError):
    """No such link."""


class NotAllowed(PermissionError):
    """The user may see the link but not change it (it is someone else's)."""


class DuplicateCorrelationId(InvalidInput):
    """Another tracked link already uses this correlation ID (409 in the API)."""

    status = 409

    def __init__(self, correlation_id: str) -> None:
        super().__init__(
            {"correlation_id": "another tracked link already uses this correlation ID"},
            f"The correlation ID {correlation_id!r} is already in use.",
        )


def new_slug() -> str:
    """An unguessable, URL-safe slug (72 random bits)."""
    return secrets.token_urlsafe(9)


def may_change(user: User, owner_id: int | None) -> bool:
    """Admins change anything; staff change what they own or created."""
    return user.is_admin or (owner_id is not None and owner_id == user.id)


# -- Public Links ---------------------------------------------------------------------


def get_public_link(link_id: int, user: User | None = None) -> PublicLink:
    """The Public Link; with `user`, also checks that they may change it."""
    link = _get(PublicLink, link_id, "Public Link")
    if user is not None and not may_change(user, link.owner_id):
        raise NotAllowed("only its owner or an admin may change this Public Link")
    return link


def _get(model: type[LinkRow], link_id: int, what: str) -> LinkRow:
    link = db.session.get(model, link_id) if 0 < link_id <= MAX_ID else None
    if link is None:
        raise NotFound(f"no such {what}")
    return link


def create_public_link(
    user: User, data: Mapping[str, Any], *, sandbox_origin: str | None = None
) -> PublicLink:
    """Register a Public Link owned by `user`; raises InvalidInput."""
    values = clean_public_link(data, partial=False, sandbox_origin=sandbox_origin)
    with write_transaction():
        link = PublicLink(owner_id=user.id, **values)
        db.session.add(link)
        db.session.flush()  # the audit entry names the new id
        changes = created(public_link_fields(link))
        record(audit_actions.PUBLIC_LINK_CREATED, public_link_target(link), changes, actor=user)
    return link


def update_public_link(
    user: User, link_id: int, data: Mapping[str, Any], *, sandbox_origin: str | None = None
) -> PublicLink:
    """Change the given fields (name, url, active); raises NotFound, NotAllowed, InvalidInput."""
    get_public_link(link_id, user)
    values = clean_public_link(data, partial=True, sandbox_origin=sandbox_origin)
    with write_transaction():
        link = get_public_link(link_id, user)
        before = public_link_fields(link)
        for key, value in values.items():
            setattr(link, key, value)
        audit_public_link_change(user, link, before)
    return link


def audit_public_link_change(user: User, link: PublicLink, before: dict[str, Any]) -> None:
    """Audit log: an edit, or a (de|re)activation when `active` changed; nothing if no change."""
    changes = diff(before, public_link_fields(link))
    action = audit_actions.PUBLIC_LINK_UPDATED
    if "active" in changes:
        action = (
            audit_actions.PUBLIC_LINK_REACTIVATED
            if link.active
            else audit_actions.PUBLIC_LINK_DEACTIVATED
        )
    _record_change(user, action, public_link_target(link), changes)


def _record_change(user: User, action: str, target: Target, changes: dict[str, Any]) -> None:
    if changes:  # saving a form unchanged is no event
        record(action, target, changes, actor=user)


def set_public_link_active(user: User, link_id: int, active: bool) -> PublicLink:
    """Deactivate (its tracked links answer 410) or reactivate a Public Link."""
    return update_public_link(user, link_id, {"active": active})


# -- Tracked links --------------------------------------------------------------------


def get_tracked_link(link_id: int, user: User | None = None) -> TrackedLink:
    """The tracked link; with `user`, also checks that they may change it."""
    link = _get(TrackedLink, link_id, "tracked link")
    if user is not None and not may_change(user, link.created_by_id):
        raise NotAllowed("only its creator or an admin may change this tracked link")
    return link


def create_tracked_link(
    user: User,
    data: Mapping[str, Any],
    *,
    parse_expiry: Callable[[Any], datetime | None] = parse_aware_datetime,
) -> TrackedLink:
    """Create a tracked link; a blank correlation ID is generated.

    Raises InvalidInput for bad fields and DuplicateCorrelationId (a subclass) when the
    correlation ID is taken.
    """
    now = utcnow()
    values = _checked(data, partial=False, parse_expiry=parse_expiry, current=None, now=now)
    correlation_id = values.pop("correlation_id") or generate_correlation_id()
    _check_correlation_id_free(correlation_id, except_id=None)
    disabled = values.pop("disabled", False)
    try:
        with write_transaction():
            link = TrackedLink(
                slug=new_slug(),
                correlation_id=correlation_id,
                created_by_id=user.id,
                disabled_at=now if disabled else None,
                **values,
            )
            db.session.add(link)
            db.session.flush()  # the audit entry names the new id
            changes = created(tracked_link_fields(link))
            record(
                audit_actions.TRACKED_LINK_CREATED, tracked_link_target(link), changes, actor=user
            )
            emit_tracked_link_created(link)  # outbound webhooks, in this transaction
    except IntegrityError as error:
        _raise_if_duplicate(correlation_id, error)
    return link


def update_tracked_link(
    user: User,
    link_id: int,
    data: Mapping[str, Any],
    *,
    parse_expiry: Callable[[Any], datetime | None] = parse_aware_datetime,
) -> TrackedLink:
    """Change the given fields.

    Raises NotFound, NotAllowed, InvalidInput or DuplicateCorrelationId.
    """
    current = get_tracked_link(link_id, user)
    now = utcnow()
    values = _checked(data, partial=True, parse_expiry=parse_expiry, current=current, now=now)
    if "correlation_id" in values:
        _check_correlation_id_free(values["correlation_id"], except_id=link_id)
    try:
        with write_transaction():
            link = get_tracked_link(link_id, user)
            before = tracked_link_fields(link)
            if "disabled" in values:
                disabled = values.pop("disabled")
                if disabled and link.disabled_at is None:
                    link.disabled_at = now
                elif not disabled:
                    link.disabled_at = None
            for key, value in values.items():
                setattr(link, key, value)
            audit_tracked_link_change(user, link, before)
    except IntegrityError as error:
        _raise_if_duplicate(values.get("correlation_id", ""), error)
    return link


def audit_tracked_link_change(user: User, link: TrackedLink, before: dict[str, Any]) -> None:
    """Audit log: an edit, or a disable/enable when only that changed; nothing if no change."""
    changes = diff(before, tracked_link_fields(link))
    action = audit_actions.TRACKED_LINK_UPDATED
    if list(changes) == ["disabled"]:
        disabled = link.disabled_at is not None
        action = (
            audit_actions.TRACKED_LINK_DISABLED if disabled else audit_actions.TRACKED_LINK_ENABLED
        )
    _record_change(user, action, tracked_link_target(link), changes)


def set_tracked_link_disabled(user: User, link_id: int, disabled: bool) -> TrackedLink:
    """Disable (the short URL answers 410) or enable a tracked link."""
    return update_tracked_link(user, link_id, {"disabled": disabled})


def _checked(
    data: Mapping[str, Any],
    *,
    partial: bool,
    parse_expiry: Callable[[Any], datetime | None],
    current: TrackedLink | None,
    now: datetime,
) -> dict[str, Any]:
    """The cleaned values, or InvalidInput naming every bad field, pure and database rules alike."""
    try:
        values = clean_tracked_link(data, partial=partial, parse_expiry=parse_expiry)
        errors: dict[str, str] = {}
    except InvalidInput as invalid:
        values, errors = invalid.valid, dict(invalid.fields)
    errors.update(_database_errors(values, current=current, now=now))
    if errors:
        raise InvalidInput(errors)
    return values


def _database_errors(
    values: dict[str, Any], *, current: TrackedLink | None, now: datetime
) -> dict[str, str]:
    errors: dict[str, str] = {}
    public_link_id = values.get("public_link_id")
    if public_link_id is not None and (current is None or public_link_id != current.public_link_id):
        public_link = db.session.get(PublicLink, public_link_id)
        if public_link is None:
            errors["public_link_id"] = "no Public Link has this id"
        elif not public_link.active:
            errors["public_link_id"] = "this Public Link is deactivated; reactivate it first"
    expires_at = values.get("expires_at")
    changed = current is None or expires_at != current.expires_at
    if expires_at is not None and changed and expires_at <= now:
        errors["expires_at"] = "must be in the future (to stop a link now, disable it)"
    return errors


def correlation_ids_in_use(candidates: list[str]) -> set[str]:
    """Those of the candidates that tracked links already use (chunked IN queries)."""
    taken: set[str] = set()
    for start in range(0, len(candidates), 500):
        chunk = candidates[start : start + 500]
        taken.update(
            db.session.execute(
                select(TrackedLink.correlation_id).where(TrackedLink.correlation_id.in_(chunk))
            ).scalars()
        )
    return taken


def _check_correlation_id_free(correlation_id: str, *, except_id: int | None) -> None:
    query = select(TrackedLink.id).where(TrackedLink.correlation_id == correlation_id)
    if except_id is not None:
        query = query.where(TrackedLink.id != except_id)
    if db.session.execute(query.limit(1)).first() is not None:
        raise DuplicateCorrelationId(correlation_id)


def _raise_if_duplicate(correlation_id: str, error: IntegrityError) -> None:
    # Another request may have taken the ID between our check and our insert.
    if correlation_ids_in_use([correlation_id]):
        raise DuplicateCorrelationId(correlation_id) from error
    raise error
