"""The admin action on a Scheduling Request's page: erase one of its invitees, after a
confirmation page that says what goes. The email travels in the POST body only, never in a
URL (URLs end up in access logs, which an erasure cannot reach)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request

from webapp.auth.access import admin_required
from webapp.live.detail import RequestNotFound, get_request
from webapp.retention import bp, erase
from webapp.urls import request_url


def _request_or_404(scheduling_request_id: str | None):  # type: ignore[no-untyped-def]
    try:
        return get_request(scheduling_request_id or "")
    except RequestNotFound:
        abort(404, "No Scheduling Request has that id.")


@bp.get("/erase-invitee")
@admin_required
def confirm_erase():  # type: ignore[no-untyped-def]
    found_request = _request_or_404(request.args.get("request"))
    people = [r for r in found_request.recipients or [] if isinstance(r, dict)]
    index = request.args.get("recipient", "0")
    if not index.isdigit() or int(index) >= len(people) or not people[int(index)].get("email"):
        flash("That invitee has no email to erase (perhaps they were erased already).", "info")
        return redirect(request_url(found_request.scheduling_request_id))
    email = str(people[int(index)]["email"])
    found = erase.find(email)
    return render_template(
        "retention/erase_confirm.html",
        sr=found_request,
        email=email,
        names=found.names,
        request_count=len(found.requests),
        request_url=request_url,
    )


@bp.post("/erase-invitee")
@admin_required
def erase_invitee():  # type: ignore[no-untyped-def]
    found_request = _request_or_404(request.form.get("request"))
    try:
        report = erase.erase(
            request.form.get("email", ""), from_request=found_request.scheduling_request_id
        )
    except erase.InvalidEmail:
        abort(400, "That is not an email address.")
    if report.found:
        flash(
            f"The invitee was erased from {report.counts['requests']} scheduling request(s), "
            f"{report.counts['payloads']} payload(s) and "
            f"{report.counts['outbound_messages']} outbound message(s).",
            "success",
        )
    else:
        flash("Nothing named that invitee any more.", "info")
    return redirect(request_url(found_request.scheduling_request_id))
