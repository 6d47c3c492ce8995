"""The organiser's page of a sandbox Scheduling Request: where its `dashboard_url` points.

On Cronofy, `dashboard_url` (https://app.cronofy.com/scheduler/<id>) opens the Scheduler
dashboard for the signed-in organiser; here it needs a staff sign-in and shows the booking
with each notification the sandbox sent about it.
"""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user

from webapp.auth.access import public
from webapp.extensions import login_manager
from webapp.sandbox import bp, service
from webapp.urls import request_url

MAX_ID_LENGTH = 64


@bp.get("/scheduler/<request_id>")
@public  # signed-in staff only, checked here: with the sandbox off the route must be a 404
def scheduler(request_id: str):  # type: ignore[no-untyped-def]
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    booking = None
    if len(request_id) <= MAX_ID_LENGTH:
        booking = service.booking_for_dashboard("srq_" + request_id)
    if booking is None:
        abort(404, "There is no sandbox Scheduling Request at this address.")
    return render_template(
        "sandbox/scheduler.html",
        booking=booking,
        notifications=service.notifications_of(booking.id),
        request_page=request_url(booking.scheduling_request_id),
    )
