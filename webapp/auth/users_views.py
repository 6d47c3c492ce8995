"""The users page (admins only): invite, change role, deactivate/reactivate, reset password."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from webapp.auth import bp, service, signin, throttle
from webapp.auth.access import admin_required
from webapp.extensions import db
from webapp.listing import (
    PageRequest,
    capped_count,
    fetch_window,
    make_pager,
    one_column_keyset,
)
from webapp.models import ROLE_STAFF, ROLES, User
from webapp.pagination import InvalidCursor


def _is_email_key(value: object) -> bool:
    return isinstance(value, str) and "\x00" not in value  # PostgreSQL refuses NUL in a query


USER_KEYSET = one_column_keyset(
    User.email, lambda user: user.email, descending=False, valid=_is_email_key
)


def _render_users(values: dict[str, str] | None = None, errors: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    wanted = PageRequest.from_args(request.args)
    fetch = lambda statement: list(db.session.execute(statement).scalars())  # noqa: E731
    try:
        window = fetch_window(select(User), USER_KEYSET, wanted, fetch)
    except InvalidCursor:
        wanted = PageRequest(size=wanted.size)
        window = fetch_window(select(User), USER_KEYSET, wanted, fetch)
    total = capped_count(select(User.id))
    return render_template(
        "auth/users.html",
        users=window.items,
        failures=throttle.recent_failures([user.email for user in window.items]),
        roles=ROLES,
        values=values or {"role": ROLE_STAFF},
        errors=errors or {},
        pager=make_pager(window, wanted, "auth.users", {}, total, "users"),
        total=total.value,
    )


@bp.get("/users")
@admin_required
def users():  # type: ignore[no-untyped-def]
    return _render_users()


@bp.post("/users")
@admin_required
def user_create():  # type: ignore[no-untyped-def]
    """Invite: create the account with a first password the admin passes on."""
    form = request.form
    values = {key: form.get(key, "") for key in ("email", "name", "role")}
    try:
        user = service.create_user(
            values["email"],
            values["name"],
            values["role"],
            form.get("password", ""),
            form.get("password_confirm", ""),
        )
    except service.ValidationError as error:
        flash("The user was not added: see the highlighted fields.", "error")
        return _render_users(values, error.fields), 422
    flash(
        f"Added {user.email} ({user.role}). Give them their first password by a private "
        "channel; they can change it after signing in.",
        "success",
    )
    return redirect(url_for("auth.users"))


@bp.post("/users/<int:user_id>/role")
@admin_required
def user_role(user_id: int):  # type: ignore[no-untyped-def]
    try:
        user = service.change_role(current_user.id, user_id, request.form.get("role", ""))
    except service.NotFound:
        abort(404)
    except (service.Refused, service.ValidationError) as error:
        flash(error.message, "error")
        return redirect(url_for("auth.users"))
    flash(f"{user.email} is now {user.role}.", "success")
    if user.id == current_user.id and not user.is_admin:
        return redirect(url_for("live.index"))  # no longer allowed on the users page
    return redirect(url_for("auth.users"))


@bp.post("/users/<int:user_id>/active")
@admin_required
def user_active(user_id: int):  # type: ignore[no-untyped-def]
    active = request.form.get("active") == "1"
    try:
        user = service.set_active(current_user.id, user_id, active)
    except service.NotFound:
        abort(404)
    except service.Refused as error:
        flash(error.message, "error")
        return redirect(url_for("auth.users"))
    if user.active:
        flash(f"{user.email} is active again and can sign in.", "success")
    else:
        flash(
            f"{user.email} is deactivated: signed out everywhere, API tokens revoked for good.",
            "success",
        )
    return redirect(url_for("auth.users"))


@bp.post("/users/<int:user_id>/sign-in-pause")
@admin_required
def user_clear_sign_in_pause(user_id: int):  # type: ignore[no-untyped-def]
    """Lift a pause or slow-down on someone's sign-in now, e.g. after they were targeted."""
    try:
        user, forgotten = signin.clear_sign_in_pause(user_id)
    except service.NotFound:
        abort(404)
    flash(
        f"Cleared {forgotten} failed sign-in{'' if forgotten == 1 else 's'} for {user.email}: "
        "they can sign in again at once.",
        "success",
    )
    return redirect(url_for("auth.users"))


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@admin_required
def user_password(user_id: int):  # type: ignore[no-untyped-def]
    """Set a new password for someone who lost theirs; their sessions end."""
    try:
        user = service.get_user(user_id)
    except service.NotFound:
        abort(404)
    if user.id == current_user.id:
        return redirect(url_for("auth.account_password"))
    if request.method == "GET":
        return render_template("auth/user_password.html", user=user, errors={})
    try:
        user = service.set_password(
            user_id, request.form.get("password", ""), request.form.get("password_confirm", "")
        )
    except service.ValidationError as error:
        return render_template("auth/user_password.html", user=user, errors=error.fields), 422
    flash(f"New password set for {user.email}; their sessions have ended.", "success")
    return redirect(url_for("auth.users"))
