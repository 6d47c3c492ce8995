"""/account/notifications: the signed-in person's email choices, a section of /account
(templates/mail/_preferences.html); the address itself opens that section."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user

from webapp.mail import bp, preferences

SECTION = "#notifications"


@bp.route("/account/notifications", methods=["GET", "POST"], endpoint="preferences")
def preferences_page():  # type: ignore[no-untyped-def]
    if request.method == "POST":
        preferences.set_preferences(
            current_user.id,
            on_booking=request.form.get("email_on_booking") == "1",
            daily_digest=request.form.get("email_daily_digest") == "1",
        )
        flash("Your email choices are saved.", "success")
    return redirect(url_for("auth.account") + SECTION)
