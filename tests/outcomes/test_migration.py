"""The outcomes migration fills the new columns from what was stored before it."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import upgrade

from tests.support.config import make_test_config
from webapp import create_app
from webapp.extensions import db

AT = "2026-01-01 00:00:00"
ROWS = [
    # scheduling_request_id, event_start, event_end
    ("srq_1", "2026-03-03T14:30:00Z", "2026-03-03T15:00:00Z"),
    ("srq_2", "2026-03-03T20:00:00+05:30", None),
    ("srq_3", "not a time", "2026-03-03T15:00:00Z"),
    ("srq_4", None, None),
]


def test_meeting_times_and_click_counters_are_back_filled(tmp_path):
    database = f"sqlite:///{tmp_path / 'filling.sqlite3'}"
    app = create_app(make_test_config(tmp_path, SQLALCHEMY_DATABASE_URI=database))
    with app.app_context():
        upgrade(revision="recv0002")
        with db.engine.begin() as connection:
            run = connection.execute
            run(
                sa.text(
                    "INSERT INTO public_links (id, name, url, active, created_at, updated_at) "
                    "VALUES (1, 'P', 'https://app.cronofy.com/pls/X', 1, :at, :at)"
                ),
                {"at": AT},
            )
            for link in (1, 2):
                run(
                    sa.text(
                        "INSERT INTO tracked_links (id, public_link_id, slug, correlation_id, "
                        "label, allow_repeat_bookings, created_at) "
                        "VALUES (:id, 1, :slug, :corr, '', 0, :at)"
                    ),
                    {"id": link, "slug": f"slug{link}", "corr": f"corr{link}", "at": AT},
                )
            for at, agent in [
                ("2026-01-02 10:00:00.000000", "human"),
                ("2026-01-01 09:00:00.000000", "human"),
                ("2026-01-01 08:00:00.000000", "bot"),
                ("2026-01-03 10:00:00.000000", "preview"),
            ]:
                run(
                    sa.text(
                        "INSERT INTO visits (tracked_link_id, at, agent_class, outcome) "
                        "VALUES (1, :at, :agent, 'redirect')"
                    ),
                    {"at": at, "agent": agent},
                )
            for srq, start, end in ROWS:
                run(
                    sa.text(
                        "INSERT INTO scheduling_requests (scheduling_request_id, status, "
                        "recipients, recipient_operations, captured_data, utm, event_start, "
                        "event_end, notification_count, first_notified_at, updated_at) "
                        "VALUES (:srq, 'time_chosen', '[]', '{}', '{}', '{}', :start, :end, 1, "
                        ":at, :at)"
                    ),
                    {"srq": srq, "start": start, "end": end, "at": AT},
                )
        upgrade()
        with db.engine.connect() as connection:
            meetings = connection.execute(
                sa.text(
                    "SELECT scheduling_request_id, meeting_starts_at, meeting_ends_at "
                    "FROM scheduling_requests ORDER BY id"
                )
            ).all()
            links = connection.execute(
                sa.text(
                    "SELECT id, person_clicks, first_clicked_at, last_clicked_at "
                    "FROM tracked_links ORDER BY id"
                )
            ).all()
        db.engine.dispose()
    assert [tuple(row) for row in meetings] == [
        ("srq_1", "2026-03-03 14:30:00.000000", "2026-03-03 15:00:00.000000"),
        ("srq_2", "2026-03-03 14:30:00.000000", None),
        ("srq_3", None, None),
        ("srq_4", None, None),
    ]
    assert [tuple(row) for row in links] == [
        (1, 2, "2026-01-01 09:00:00.000000", "2026-01-02 10:00:00.000000"),
        (2, 0, None, None),
    ]
