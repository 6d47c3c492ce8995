"""First-run setup, sign-in and sign-out. The users and tokens pages register on `bp` too."""

from __future__ import annotations

import math
from datetime import timedelta

from flask import abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from webapp.auth import bp, service, sessions, signin
from webapp.auth.access import public
from webapp.models import User, utcnow
from webapp.urls import safe_next


def start_session(user: User) -> None:
    """Sign the user in on a fresh session that lasts PERMANENT_SESSION_LIFETIME idle."""
    # A new session on sign-in: nothing set before (by anyone) carries over into it.
    session.clear()
    raw = sessions.open_session(user.id, request.user_agent.string, request.remote_addr)
    login_user(user, remember=False, fresh=True)
    session[sessions.SESSION_KEY] = raw
    session.permanent = True


def _after_sign_in() -> str:
    return safe_next(request.values.get("next")) or url_for("live.index")


def _login_page(
    next_url: str | None, email: str, errors: dict[str, str], tries_left: int | None = None
) -> str:
    return render_template(
        "auth/login.html", email=email, errors=errors, next_url=next_url, tries_left=tries_left
    )


def throttled_response(retry_after: int):  # type: ignore[no-untyped-def]
    minutes = max(1, math.ceil(retry_after / 60))
    retry_at = utcnow() + timedelta(seconds=retry_after)
    response = make_response(
        render_template(
            "auth/throttled.html", minutes=minutes, seconds=retry_after, retry_at=retry_at
        ),
        429,
    )
    response.headers["Retry-After"] = str(retry_after)
    return response


@bp.route("/setup", methods=["GET", "POST"])
@public
def setup():  # type: ignore[no-untyped-def]
    """Create the first admin; gone (404) for good once any account exists."""
    if service.has_users():
        abort(404)
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        # "Please sign in" from the redirect that led here means nothing before any account.
        session.pop("_flashes", None)
        return render_template("auth/setup.html", values={}, errors={}, next_url=next_url)
    form = request.form
    values = {"email": form.get("email", ""), "name": form.get("name", "")}
    try:
        user = service.create_first_admin(
            values["email"],
            values["name"],
            form.get("password", ""),
            form.get("password_confirm", ""),
        )
    except service.SetupClosed:
        abort(404)
    except service.ValidationError as error:
        return render_template(
            "auth/setup.html", values=values, errors=error.fields, next_url=next_url
        ), 422
    start_session(user)
    flash(f"Welcome, {user.display_name}. Your admin account is ready.", "success")
    return redirect(_after_sign_in())


@bp.route("/login", methods=["GET", "POST"])
@public
def login():  # type: ignore[no-untyped-def]
    next_url = safe_next(request.values.get("next"))
    if not service.has_users():
        return redirect(url_for("auth.setup", next=next_url))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(_after_sign_in())
        return _login_page(next_url, email="", errors={})

    email = request.form.get("email", "")
    tries_left = None
    try:
        user = signin.sign_in(email, request.form.get("password", ""), request.remote_addr)
    except signin.Throttled as error:
        return throttled_response(error.retry_after)
    except service.ValidationError as error:
        errors = error.fields
    except signin.InvalidCredentials as error:
        errors = {"form": error.message}
        tries_left = error.tries_left
    else:
        start_session(user)
        return redirect(_after_sign_in())
    return _login_page(next_url, email.strip(), errors, tries_left), 422


@bp.post("/logout")
@public
def logout():  # type: ignore[no-untyped-def]
    """End the session (CSRF-protected like every POST) and go back to the sign-in page.

    The server-side session is revoked, so a copy of the cookie no longer signs anyone in.
    """
    was_signed_in = current_user.is_authenticated
    sessions.end_session(session.get(sessions.SESSION_KEY))
    logout_user()
    session.clear()
    if was_signed_in:
        flash("You have signed out.", "success")
    return redirect(url_for("auth.login"))
