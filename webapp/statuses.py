"""What a Scheduling Request's status (its latest notification's type, without the
`scheduling_request_` prefix) means for the outcome of a booking. Pure.

Cronofy documents `time_chosen` by name; the booking-page element documents rescheduled
and declined events too (docs/cronofy.md). A booking stands while its request is booked
or rescheduled; declined or cancelled, it no longer does.
"""

from __future__ import annotations

BOOKED_STATUSES = ("time_chosen", "rescheduled", "time_rescheduled")
DECLINED_STATUSES = ("declined", "cancelled")


def is_booked(status: str | None) -> bool:
    return status in BOOKED_STATUSES


def is_declined(status: str | None) -> bool:
    return status in DECLINED_STATUSES
