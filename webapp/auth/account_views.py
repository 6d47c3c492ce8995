"""Pages about one's own account: the account page (a page of sections), API tokens, and
hiding the mode banner for the session."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from webapp.auth import api_tokens, bp, service, sessions, signin
from webapp.auth.time_zone import set_time_zone
from webapp.auth.views import start_session, throttled_response
from webapp.templating import BANNER_SESSION_KEY
from webapp.timezones import zone_choices
from webapp.urls import safe_next


def _render_tokens(
    new_token: str | None = None,
    new_token_name: str = "",
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
):  # type: ignore[no-untyped-def]
    response = make_response(
        render_template(
            "auth/tokens.html",
            tokens=api_tokens.tokens_of(current_user.id),
            new_token=new_token,
            new_token_name=new_token_name,
            values=values or {},
            errors=errors or {},
        ),
        status,
    )
    # The page may carry a token's only plain copy: keep it out of every cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/tokens")
def tokens():  # type: ignore[no-untyped-def]
    return _render_tokens()


@bp.post("/tokens")
def token_create():  # type: ignore[no-untyped-def]
    """Create a token and show it on this response only; it is never shown again."""
    name = request.form.get("name", "")
    try:
        token = api_tokens.create_token(current_user.id, name)
    except service.ValidationError as error:
        return _render_tokens(values={"name": name}, errors=error.fields, status=422)
    return _render_tokens(new_token=token, new_token_name=name.strip() or api_tokens.DEFAULT_NAME)


@bp.post("/tokens/<int:token_id>/revoke")
def token_revoke(token_id: int):  # type: ignore[no-untyped-def]
    try:
        row = api_tokens.revoke_token(current_user.id, token_id)
    except service.NotFound:
        abort(404)
    flash(f"Token “{row.name}” ({row.prefix}…) is revoked and no longer works.", "success")
    return redirect(url_for("auth.tokens"))


# The account page is a list of sections, each a template with its own form and route;
# a new section (time zone, notifications, open sessions) is one more entry here.
ACCOUNT_SECTIONS = (
    ("details", "Your details", "auth/account/_details.html"),
    ("password", "Password", "auth/account/_password.html"),
    ("time-zone", "Time zone", "auth/account/_time_zone.html"),
    ("notifications", "Email notifications", "mail/_preferences.html"),  # saved by webapp/mail
    ("sessions", "Where you are signed in", "auth/account/_sessions.html"),
)


def _account_page(errors: dict[str, dict[str, str]] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    page = render_template(
        "auth/account.html",
        sections=ACCOUNT_SECTIONS,
        section_errors=errors or {},
        open_sessions=sessions.open_sessions_of(current_user.id),
        this_session=sessions.current_session_id(),
        zone_choices=zone_choices(),
    )
    return page, status


@bp.get("/account")
def account():  # type: ignore[no-untyped-def]
    return _account_page()


@bp.post("/account/details")
def account_details():  # type: ignore[no-untyped-def]
    try:
        service.rename(current_user.id, request.form.get("name", ""))
    except service.ValidationError as error:
        return _account_page({"details": error.fields}, 422)
    flash("Your details are saved.", "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/password", methods=["GET", "POST"])
def account_password():  # type: ignore[no-untyped-def]
    """Change one's own password; every other session of the account ends."""
    if request.method == "GET":
        return redirect(url_for("auth.account") + "#password")
    form = request.form
    try:
        user = signin.change_own_password(
            current_user.id,
            form.get("current_password", ""),
            form.get("new_password", ""),
            form.get("new_password_confirm", ""),
            request.remote_addr,
        )
    except signin.Throttled as error:
        return throttled_response(error.retry_after)
    except service.ValidationError as error:
        return _account_page({"password": error.fields}, 422)
    start_session(user)  # every session was revoked: this browser carries on on a new one
    flash("Your password is changed. Other sessions of your account have ended.", "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/sessions/<int:session_id>/sign-out")
def account_session_sign_out(session_id: int):  # type: ignore[no-untyped-def]
    """Sign one of one's own sessions out (another browser, a lost laptop)."""
    if not sessions.revoke(current_user.id, session_id):
        abort(404)
    if session_id == sessions.current_session_id():  # this browser's own: signed out here
        logout_user()
        session.clear()
        flash("You have signed out.", "success")
        return redirect(url_for("auth.login"))
    flash("That session is signed out.", "success")
    return redirect(url_for("auth.account") + "#sessions")


@bp.post("/account/sessions/sign-out-others")
def account_sessions_sign_out_others():  # type: ignore[no-untyped-def]
    ended = sessions.revoke_others(current_user.id, keep=sessions.current_session_id())
    flash(
        f"Signed out everywhere else ({ended} other session{'' if ended == 1 else 's'}).",
        "success",
    )
    return redirect(url_for("auth.account") + "#sessions")


@bp.post("/account/time-zone")
def account_time_zone():  # type: ignore[no-untyped-def]
    """Set one's time zone: from the account page, or the offer of the browser's own zone
    that every page shows until one is chosen (templates/auth/_time_zone_offer.html)."""
    try:
        user = set_time_zone(current_user.id, request.form.get("time_zone"))
    except service.ValidationError as error:
        return _account_page({"time-zone": error.fields}, 422)
    flash(f"Times are now shown in {user.time_zone}.", "success")
    return redirect(safe_next(request.form.get("next")) or url_for("auth.account") + "#time-zone")


@bp.post("/account/banner")
def dismiss_banner():  # type: ignore[no-untyped-def]
    """Hide the mode banner for the rest of this session (until the mode changes)."""
    session[BANNER_SESSION_KEY] = request.form.get("key", "")[:20]
    return redirect(safe_next(request.form.get("next")) or url_for("live.index"))
