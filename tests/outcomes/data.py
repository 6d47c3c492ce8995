"""A hand-built set of tracked links, visits and Scheduling Requests whose figures are known.

Links are created in early March 2026; `EXPECTED_UTC` is what the insights must say for
1-5 March in UTC, worked out by hand from the definitions (webapp/insights/figures.py).
Visits go through the app's own visit writer (so the click counters are kept as in
production); requests are stored as the receiver stores them (tests/support/bookings.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import Flask

from tests.support import bookings, factories
from webapp.extensions import db
from webapp.models import TrackedLink
from webapp.tracking.visits import PendingVisit, recorder_for


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def visit(app: Flask, link_id: int, when: datetime, agent: str = "human") -> None:
    outcome = "redirect" if agent == "human" else "preview"
    recorder_for(app).record(PendingVisit(link_id, when, None, agent, outcome))


def request(link_id: int | None, status: str, when: datetime, srq: str | None = None, **kw):
    link = db.session.get(TrackedLink, link_id) if link_id else None
    return bookings.make_request(srq, tracked_link=link, status=status, updated_at=when, **kw)


@dataclass
class Dataset:
    admin_id: int
    staff_id: int
    pl1: int
    pl2: int
    links: dict[str, int] = field(default_factory=dict)


def build(app: Flask) -> Dataset:
    """Call inside an app context."""
    admin = factories.make_user(email="admin@example.com", role="admin", name="Ada Admin")
    staff = factories.make_user(email="staff@example.com", role="staff", name="Sam Staff")
    pl1 = factories.make_public_link(admin.id, name="Engineering")
    pl2 = factories.make_public_link(admin.id, name="Sales", url="https://app.cronofy.com/pls/S2")
    data = Dataset(admin.id, staff.id, pl1.id, pl2.id)

    def link(name: str, public: int, owner: int, created: str, **utm: str) -> int:
        made = factories.make_tracked_link(
            public,
            correlation_id=f"cand-{name}",
            created_by_id=owner,
            created_at=at(created),
            **utm,
        )
        data.links[name] = made.id
        return made.id

    # A: clicked twice by a person (and once by a bot), booked 2 h after the first click.
    a = link(
        "a", pl1.id, admin.id, "2026-03-01T10:00:00", utm_campaign="spring", utm_source="email"
    )
    visit(app, a, at("2026-03-01T11:00:00"))
    visit(app, a, at("2026-03-01T11:30:00"))
    visit(app, a, at("2026-03-01T10:30:00"), "bot")
    request(a, "time_chosen", at("2026-03-01T13:00:00"))
    # B: only a link preview, a bot and a HEAD: not clicked.
    b = link(
        "b", pl1.id, staff.id, "2026-03-02T09:00:00", utm_campaign="spring", utm_source="linkedin"
    )
    for agent in ("preview", "bot", "head"):
        visit(app, b, at("2026-03-02T09:05:00"), agent)
    # C: clicked, booked, then declined: declined, not booked.
    c = link("c", pl2.id, admin.id, "2026-03-03T08:00:00", utm_campaign="fall", utm_source="email")
    visit(app, c, at("2026-03-03T08:10:00"))
    request(c, "declined", at("2026-03-03T12:00:00"), notifications=2)
    # D: clicked; one request declined, another rescheduled a day after the click: booked.
    d = link("d", pl2.id, staff.id, "2026-03-04T09:00:00", utm_campaign="fall", utm_source="email")
    visit(app, d, at("2026-03-04T10:00:00"))
    request(d, "declined", at("2026-03-04T11:00:00"))
    request(d, "rescheduled", at("2026-03-05T10:00:00"))
    # E: clicked, not booked; a test notification names it (never a booking).
    e = link("e", pl1.id, admin.id, "2026-03-05T12:00:00")
    visit(app, e, at("2026-03-05T12:30:00"))
    request(e, "time_chosen", at("2026-03-05T13:00:00"), srq="srq_test_0123456789ab")
    # Edges in Asia/Kolkata (UTC+05:30): H is 1 March 00:00 there (28 Feb in UTC); I is
    # 6 March 00:00 there (5 March in UTC).
    link("h", pl1.id, admin.id, "2026-02-28T18:30:00")
    link("i", pl1.id, admin.id, "2026-03-05T18:30:00")
    link("before", pl1.id, admin.id, "2026-02-28T18:29:59")
    # A request tied to no link is a booking of nobody's.
    request(None, "time_chosen", at("2026-03-02T10:00:00"), correlation_id="nobody-knows")
    db.session.commit()
    return data


# 1-5 March 2026 in UTC: A B C D E I.
EXPECTED_UTC = {"links": 6, "clicked": 4, "booked": 2, "declined": 1, "conversion": 0.5}
MEDIAN_UTC = (2 * 3600 + 24 * 3600) / 2  # A: 2 h, D: 24 h
# 1-5 March 2026 in Asia/Kolkata: H A B C D E.
EXPECTED_KOLKATA = {"links": 6, "clicked": 4, "booked": 2, "declined": 1, "conversion": 0.5}
