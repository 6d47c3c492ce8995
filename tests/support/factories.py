"""Rows for tests, written straight to the database (the services have their own tests)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from flask import Flask
from werkzeug.security import generate_password_hash

from webapp.extensions import db
from webapp.models import PublicLink, TrackedLink, User

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Ref:
    """Ids of rows made inside an app context, safe to use outside it."""

    id: int
    email: str = ""


def make_user(
    email: str = "user@example.com",
    role: str = "staff",
    name: str = "",
    password: str = PASSWORD,
    active: bool = True,
) -> Ref:
    user = User(
        email=email.lower(),
        name=name,
        role=role,
        active=active,
        password_hash=generate_password_hash(password, method="pbkdf2:sha256:1000"),
    )
    db.session.add(user)
    db.session.commit()
    return Ref(id=user.id, email=user.email)


def make_public_link(
    owner_id: int | None = None,
    name: str = "Interviews",
    url: str = "https://app.cronofy.com/pls/Q5-ZDPM8",
    active: bool = True,
) -> Ref:
    link = PublicLink(name=name, url=url, owner_id=owner_id, active=active)
    db.session.add(link)
    db.session.commit()
    return Ref(id=link.id)


def make_tracked_link(
    public_link_id: int,
    correlation_id: str | None = None,
    created_by_id: int | None = None,
    label: str = "",
    **fields,
) -> TrackedLink:
    link = TrackedLink(
        public_link_id=public_link_id,
        correlation_id=correlation_id or "corr-" + secrets.token_hex(4),
        slug=secrets.token_urlsafe(9),
        label=label,
        created_by_id=created_by_id,
        **fields,
    )
    db.session.add(link)
    db.session.commit()
    return link


def update_link(app: Flask, link_id: int, **values: Any) -> None:
    """Change a tracked link's columns in place (disable it, expire it, ...)."""
    with app.app_context():
        tracked = db.session.get(TrackedLink, link_id)
        for key, value in values.items():
            setattr(tracked, key, value)
        db.session.commit()
