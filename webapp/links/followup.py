"""The follow-up lists of tracked links: who clicked and did not book, who never clicked.

The page (webapp/links/tracked_views.py) and the API share the states (webapp/outcomes.py);
they differ in one default: on the page, "clicked, not booked" shows only links whose last
person click is more than DEFAULT_IDLE_HOURS old (a click a minute ago may still become a
booking), while the API applies an age limit only when `idle_hours` is given.
"""

from __future__ import annotations

from webapp.outcomes import CLICKED_NOT_BOOKED, NOT_CLICKED

DEFAULT_IDLE_HOURS = 24
MAX_IDLE_HOURS = 24 * 366
STATE_WORDS = {
    CLICKED_NOT_BOOKED: "Clicked, not booked",
    NOT_CLICKED: "Not clicked",
    "booked": "Booked",
}


def parse_hours(raw: str | None) -> int | None:
    """A whole number of hours, 0 to MAX_IDLE_HOURS; None when it is not one."""
    text = (raw or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 5:
        return None
    hours = int(text)
    return hours if hours <= MAX_IDLE_HOURS else None
