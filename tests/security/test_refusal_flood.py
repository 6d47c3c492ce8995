"""Issue 9 §8: a flood of bad signatures costs no database write per request.

Refused hits are counted in memory and written aggregated, one row per minute and reason;
the event log still shows how many were refused and the latest ones. (The benchmark prints
a valid delivery's p99 during a ~300/s flood beside its p99 without one.)
"""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from tests.support.deliveries import RECEIVER, notification_body, post_signed, refusals
from webapp.extensions import db
from webapp.webhooks import refusals as counting
from webapp.webhooks.signatures import HEADER

FLOOD = 60


@contextmanager
def statements(app):
    """Every SQL statement the app's engine runs meanwhile."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_flood_of_bad_signatures_writes_nothing_per_request(app, client):
    body = notification_body()
    with statements(app) as seen:
        for number in range(FLOOD):
            headers = {HEADER: "forged"} if number % 2 else {}
            assert client.post(RECEIVER, data=body, headers=headers).status_code == 401
    assert seen == []  # not a read, not a write: the 401s cost no database round trip
    rows = refusals(app)  # written now, aggregated
    assert sorted(row.count for row in rows) == [FLOOD // 2, FLOOD // 2]
    assert {row.client_address for row in rows} == {"127.0.0.1"}
    assert all(row.at.second == 0 and row.at <= row.last_at for row in rows)


def test_counts_are_written_every_flush_interval_from_the_requests_themselves(app_factory):
    app = app_factory(RECEIVER_REFUSALS_FLUSH_SECONDS=0)
    client = app.test_client()
    post_signed(client, notification_body(), header="forged")
    post_signed(client, notification_body(), header="forged")
    with app.app_context():
        from webapp.models import RefusedDelivery

        [row] = db.session.execute(db.select(RefusedDelivery)).scalars()
        assert row.count == 2


def test_the_event_log_shows_the_counts(app, admin_client):
    for _ in range(3):
        post_signed(admin_client, notification_body(), header="forged")
    page = admin_client.get("/events").get_data(as_text=True)
    assert "3 requests refused in the last 24 hours" in page
    assert "does not match any configured client secret" in page


def test_counts_that_cannot_be_written_are_kept_for_the_next_try(app, client, monkeypatch):
    post_signed(client, notification_body(), header="forged")

    def database_down(connection, tallies):
        from sqlalchemy.exc import OperationalError

        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(counting, "write_counts", database_down)
    counting.flush(app)
    monkeypatch.undo()
    post_signed(client, notification_body(), header="forged")
    [row] = refusals(app)
    assert row.count == 2
