"""Actions on the links selected on the tracked-links page (webapp/links/bulk_actions.py).

Disabling is confirmed on a page of its own first (it works without script, and a person
sees which links they are about to switch off); setting or extending an expiry is not
destructive and runs at once. Either way the person lands back on the list they came from.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.display import plural
from webapp.extensions import db
from webapp.links import bp
from webapp.links.bulk_actions import (
    DISABLE,
    EXTEND_EXPIRY,
    SET_EXPIRY,
    BulkInvalid,
    BulkOutcome,
    apply,
    clean_ids,
    selected_links,
)
from webapp.links.validation import InvalidValue, local_time_parser
from webapp.localtime import viewer_zone, viewer_zone_name
from webapp.models import User, utcnow
from webapp.urls import safe_next

SHOWN_ON_CONFIRM = 50


def _back() -> str:
    target = safe_next(request.form.get("next"))
    return target if target and target.startswith("/links") else url_for("links.tracked_links")


@bp.post("/links/selected")
def tracked_links_selected():  # type: ignore[no-untyped-def]
    form = request.form
    action = form.get("action", "")
    try:
        ids = clean_ids(form.getlist("ids"))
        if action == DISABLE and form.get("confirm") != "1":
            links = selected_links(ids)
            return render_template(
                "links/bulk_confirm.html",
                links=links[:SHOWN_ON_CONFIRM],
                ids=[link.id for link in links],
                back=_back(),
            )
        expires_at = None
        if action == SET_EXPIRY:
            parse = local_time_parser(viewer_zone(), viewer_zone_name())
            expires_at = parse(form.get("expires_at"))
        days = None
        if action == EXTEND_EXPIRY:
            raw = form.get("days", "").strip()
            days = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 5 else None
        me = db.session.get(User, int(current_user.id))
        outcome = apply(me, action, ids, now=utcnow(), expires_at=expires_at, days=days)
    except BulkInvalid as invalid:
        flash(invalid.message, "error")
        return redirect(_back(), 303)
    except InvalidValue as invalid:
        flash(f"Expiry {invalid}.", "error")
        return redirect(_back(), 303)
    _report(action, outcome)
    return redirect(_back(), 303)


def _report(action: str, outcome: BulkOutcome) -> None:
    done = {
        DISABLE: "disabled",
        SET_EXPIRY: "given the new expiry",
        EXTEND_EXPIRY: "given a later expiry",
    }[action]
    changed = len(outcome.changed)
    flash(f"{plural(changed, 'tracked link')} {done}.", "success" if changed else "info")
    notes = []
    if outcome.unchanged:
        notes.append(f"{plural(outcome.unchanged, 'link')} already so")
    if outcome.not_allowed:
        notes.append(
            f"{plural(outcome.not_allowed, 'link')} someone else's "
            "(only its creator or an admin can change it)"
        )
    if outcome.missing:
        notes.append(f"{plural(outcome.missing, 'link')} no longer there")
    if notes:
        flash("Left alone: " + "; ".join(notes) + ".", "warning" if outcome.not_allowed else "info")
