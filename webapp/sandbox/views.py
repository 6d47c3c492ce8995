"""The simulated Cronofy's pages: the booking page and the invitee's confirmation page.

Every route answers 404 unless WEBAPP_SANDBOX is on. Invitees are anonymous, so every
route is public; the confirmation page's URL carries an unguessable token instead.
"""

from __future__ import annotations

import secrets

from flask import (
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import NotFound

from webapp.auth.access import public
from webapp.models import utcnow
from webapp.sandbox import bp, forms, outbox, service, verify, walk_ins
from webapp.sandbox.slots import available_slots, by_day

SESSION_KEY = "sandbox_claims"
# Booking pages opened without a claim token: a one-off id per page, kept like the claims.
WALK_IN_SESSION_KEY = "sandbox_walk_ins"
REMEMBERED_CLAIMS = 10
# Refusals a person can fix by clicking the tracked link again answer 403; a link that is
# not even shaped right answers 400.
BAD_REQUEST_REASONS = {verify.MISSING, verify.MALFORMED, "metadata_too_long", "metadata_invalid"}


@bp.before_request
def only_when_enabled() -> None:
    if not current_app.config.get("WEBAPP_SANDBOX"):
        abort(404)
    # Start this worker's sender on its first sandbox request, so notifications a previous
    # run left unsent go out without waiting for the next booking.
    outbox.ensure_started()


@bp.errorhandler(404)
def not_found(error: NotFound) -> tuple[str, int]:
    if not current_app.config.get("WEBAPP_SANDBOX"):
        # Off: exactly the app's ordinary 404, nothing that reveals a sandbox.
        title, message = error.name, error.description
        return render_template("error.html", code=404, title=title, message=message), 404
    return render_template("sandbox/not_found.html", message=error.description), 404


def _accepted(key: str = SESSION_KEY) -> list[str]:
    value = session.get(key)
    return [str(jti) for jti in value] if isinstance(value, list) else []


def _remember(jti: str, key: str = SESSION_KEY) -> None:
    claims = [item for item in _accepted(key) if item != jti]
    session[key] = [*claims, jti][-REMEMBERED_CLAIMS:]


def _private(response: Response) -> Response:
    """Token-bearing pages: never cached, never leaked through a Referer header to another
    site. "same-origin" rather than "no-referrer": under no-referrer a browser sends
    `Origin: null` with the page's own form posts, which the cross-origin check refuses."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _refused(reason: str, message: str, status: int | None = None) -> Response:
    status = status or (400 if reason in BAD_REQUEST_REASONS else 403)
    page = render_template("sandbox/refused.html", reason=reason, message=message)
    return _private(make_response(page, status))


def _check_code(code: str) -> None:
    if not forms.valid_code(code):
        abort(404)


def _booking_form(  # type: ignore[no-untyped-def]
    code: str, claim, walk_in: str = "", *, values=None, errors=None, status: int = 200
) -> Response:
    page = render_template(
        "sandbox/booking.html",
        code=code,
        claim=claim,
        walk_in=walk_in,
        days=by_day(available_slots(utcnow())),
        values=values or {},
        errors=errors or {},
    )
    return _private(make_response(page, status))


@bp.get("/pls/<code>", strict_slashes=False)
@public
def booking_page(code: str) -> Response:
    _check_code(code)
    if not request.args.get("claim_token"):
        # Cronofy takes a booking from a Public Link opened without a claim token, and sends
        # no notification for it; so does the sandbox (the page says so).
        walk_in = secrets.token_urlsafe(16)
        _remember(walk_in, WALK_IN_SESSION_KEY)
        return _booking_form(code, None, walk_in)
    try:
        context = forms.parse_link_context(request.args)
        verdict = service.open_booking_page(
            request.args.get("claim_token"),
            code,
            context,
            now=utcnow(),
            accepted=_accepted(),
        )
    except forms.InvalidMetadata as exc:
        too_long = isinstance(exc, forms.MetadataTooLong)
        return _refused("metadata_too_long" if too_long else "metadata_invalid", str(exc))
    except service.NotConfigured as exc:
        return _refused("not_configured", str(exc), 503)
    if not verdict.ok:
        return _refused(verdict.reason, verdict.message)
    assert verdict.jti is not None
    _remember(verdict.jti)
    claim = service.claim_for_form(verdict.jti, code, _accepted())
    return _booking_form(code, claim)


@bp.post("/pls/<code>", strict_slashes=False)
@public
def confirm(code: str) -> Response:
    _check_code(code)
    walk_in = request.form.get("walk_in", "")
    jti = request.form.get("jti", "")
    claim = None
    try:
        if walk_in:
            walk_ins.check_pass(walk_in, _accepted(WALK_IN_SESSION_KEY))
        else:
            claim = service.claim_for_form(jti, code, _accepted())
    except service.ClaimNotAccepted as exc:
        return _refused("not_this_session", str(exc))
    answers, errors = forms.parse_answers(request.form)
    slot_key = request.form.get("slot", "")
    if not slot_key:
        errors["slot"] = "Pick a time."
    values = {**request.form}
    if errors:
        return _booking_form(code, claim, walk_in, values=values, errors=errors, status=422)
    try:
        if walk_in:
            booking = walk_ins.book(
                walk_in,
                code,
                slot_key,
                answers,
                now=utcnow(),
                passes=_accepted(WALK_IN_SESSION_KEY),
            )
        else:
            booking = service.confirm_booking(
                jti, code, slot_key, answers, now=utcnow(), accepted=_accepted()
            )
    except service.SlotUnavailable as exc:
        errors = {"slot": str(exc)}
        return _booking_form(code, claim, walk_in, values=values, errors=errors, status=422)
    except service.ClaimNotAccepted as exc:
        return _refused("not_this_session", str(exc))
    except service.NotConfigured as exc:
        return _refused("not_configured", str(exc), 503)
    flash(
        "Booked. This is a sandbox booking: no real calendar event was made. "
        + _who_is_told(booking),
        "success",
    )
    return redirect(url_for(".confirmation", token=booking.confirmation_token), code=303)


def _who_is_told(booking) -> str:  # type: ignore[no-untyped-def]
    if booking.claimed:
        return "The organiser's dashboard is being told."
    return "Nobody is told: this booking was made without a claim token."


def _booking_or_404(token: str):  # type: ignore[no-untyped-def]
    booking = service.get_booking(token) if len(token) <= 64 else None
    if booking is None:
        abort(404, "There is no sandbox booking at this address. Check the link you saved.")
    return booking


def _confirmation_page(booking, *, errors=None, status: int = 200) -> Response:  # type: ignore[no-untyped-def]
    slots = [slot for slot in available_slots(utcnow()) if slot.start != booking.slot_start]
    page = render_template(
        "sandbox/confirmation.html",
        booking=booking,
        days=by_day(slots),
        errors=errors or {},
        focus="reschedule"
        if request.args.get("reschedule")
        else ("decline" if request.args.get("decline") else ""),
    )
    return _private(make_response(page, status))


@bp.get("/bookings/<token>")
@public
def confirmation(token: str) -> Response:
    return _confirmation_page(_booking_or_404(token))


@bp.post("/bookings/<token>/reschedule")
@public
def reschedule(token: str) -> Response:
    booking = _booking_or_404(token)
    slot_key = request.form.get("slot", "")
    try:
        if not slot_key:
            raise service.SlotUnavailable("Pick a new time.")
        service.reschedule(token, slot_key, now=utcnow())
    except service.SlotUnavailable as exc:
        return _confirmation_page(booking, errors={"slot": str(exc)}, status=422)
    except (service.BookingClosed, service.NotConfigured) as exc:
        flash(str(exc), "error")
    else:
        flash(f"Rescheduled. {_who_is_told(booking)}", "success")
    return redirect(url_for(".confirmation", token=token), code=303)


@bp.post("/bookings/<token>/decline")
@public
def decline(token: str) -> Response:
    booking = _booking_or_404(token)
    try:
        service.decline(token, now=utcnow())
    except (service.BookingClosed, service.NotConfigured) as exc:
        flash(str(exc), "error")
    else:
        flash(f"Declined. {_who_is_told(booking)}", "success")
    return redirect(url_for(".confirmation", token=token), code=303)
