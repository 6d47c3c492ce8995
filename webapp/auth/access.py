"""Who may see what: marks for views and blueprints, and the user loader for Flask-Login."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, session
from flask_login import current_user

from webapp.auth import sessions
from webapp.extensions import login_manager
from webapp.models import User

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def public(view: F) -> F:
    """Mark a view as open to anonymous visitors (everything else needs sign-in)."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def sessionless(view_or_blueprint: T) -> T:
    """Serve a view (or every view of a blueprint) without the staff pages' machinery.

    No cookie session saved, no CSRF check, no sign-in check (webapp/staff_pages.py): for
    public endpoints that machines and invitees call, where that machinery is pure cost.
    Each such view must also be `public`; the app refuses to start otherwise.
    """
    view_or_blueprint.sessionless = True  # type: ignore[attr-defined]
    return view_or_blueprint


def admin_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def init_login_manager() -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        # Signed in only while the cookie's session id names an open server-side session.
        return sessions.signed_in_user(user_id, session.get(sessions.SESSION_KEY))


init_login_manager()
