"""The redirect's write-behind visit buffer (webapp/tracking/visits.py), in one process.

Servers buffer visits and write them in batches (VISIT_FLUSH_INTERVAL, 0.1 s by default);
the test config writes them inside the request. These tests run the buffered mode on
purpose: nothing written on the request path, every visit written by the next flush, the
flusher thread, the flush at exit, and a fresh flusher in a forked worker.
"""

from __future__ import annotations

import os
import time
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
from flask import g, session
from sqlalchemy import event, func, select, text

from tests.support import factories
from webapp.extensions import db
from webapp.models import Visit, utcnow
from webapp.tracking import visits as visit_buffer

BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
LONG = 300.0  # an interval no test waits for: only explicit flushes write


@pytest.fixture
def buffered(app_factory):
    """An app whose visits wait in the buffer; its recorder is closed after the test."""
    made = []

    def build(interval: float = LONG):
        app = app_factory(VISIT_FLUSH_INTERVAL=interval)
        with app.app_context():
            public = factories.make_public_link()
            tracked = factories.make_tracked_link(public.id, utm_source="mail")
            slug, link_id = tracked.slug, tracked.id
        made.append(app)
        return app, slug, link_id

    yield build
    for app in made:
        visit_buffer.recorder_for(app).close()


def click(app, slug, agent=BROWSER):
    response = app.test_client().get(f"/l/{slug}", headers={"User-Agent": agent})
    return response


def jti_of(response) -> str:
    token = dict(parse_qsl(urlsplit(response.headers["Location"]).query))["claim_token"]
    return jwt.decode(token, options={"verify_signature": False})["jti"]


def stored(app, link_id):
    with app.app_context():
        rows = db.session.execute(
            select(Visit.agent_class, Visit.outcome, Visit.jti)
            .where(Visit.tracked_link_id == link_id)
            .order_by(Visit.id)
        ).all()
        return [tuple(row) for row in rows]


def wait_for_rows(app, link_id, count, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        rows = stored(app, link_id)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.02)


def test_visits_wait_in_the_buffer_until_the_flush(buffered):
    app, slug, link_id = buffered()
    jtis = [jti_of(click(app, slug)) for _ in range(3)]
    assert click(app, slug, agent="Twitterbot/1.0").status_code == 200
    assert stored(app, link_id) == []
    recorder = visit_buffer.recorder_for(app)
    assert recorder.pending() == 4 and recorder.thread_alive()

    assert recorder.flush() == 4
    assert recorder.pending() == 0
    expected = [("human", "redirect", jti) for jti in jtis] + [("preview", "preview", None)]
    assert stored(app, link_id) == expected
    assert recorder.flush() == 0  # nothing left, nothing written twice
    assert stored(app, link_id) == expected


def test_the_request_path_reads_once_and_a_batch_is_one_insert(buffered):
    app, slug, link_id = buffered()
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement.split()[0].upper(), executemany, len(parameters)))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for _ in range(5):
            assert click(app, slug).status_code == 302
        assert [s for s in statements if s[0] in ("INSERT", "UPDATE", "DELETE")] == []
        visit_buffer.recorder_for(app).flush()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [s for s in statements if s[0] == "INSERT"] == [("INSERT", True, 5)]
    assert len(stored(app, link_id)) == 5


def test_the_flusher_thread_writes_within_its_interval(buffered):
    app, slug, link_id = buffered(interval=0.05)
    jti = jti_of(click(app, slug))
    assert wait_for_rows(app, link_id, 1) == [("human", "redirect", jti)]
    assert visit_buffer.recorder_for(app).pending() == 0


def test_a_graceful_stop_writes_what_is_buffered(buffered):
    """gunicorn's worker_exit hook and atexit call flush_all()."""
    app, slug, link_id = buffered()
    jtis = [jti_of(click(app, slug)) for _ in range(2)]
    recorder = visit_buffer.recorder_for(app)
    assert recorder.thread_alive()

    visit_buffer.flush_all()
    assert [row[2] for row in stored(app, link_id)] == jtis
    assert not recorder.thread_alive()
    # A straggler after the stop is written at once rather than left in a dead buffer.
    late = jti_of(click(app, slug))
    assert stored(app, link_id)[-1] == ("human", "redirect", late)
    assert recorder.pending() == 0


def test_a_forked_worker_gets_its_own_flusher_and_an_empty_buffer(buffered):
    app, slug, link_id = buffered()
    parent_jti = jti_of(click(app, slug))
    recorder = visit_buffer.recorder_for(app)
    assert recorder.pending() == 1 and recorder.thread_alive()
    with app.app_context():
        db.engine.dispose()  # as gunicorn.conf.py does: no connection crosses the fork

    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        status = 1
        try:
            child = visit_buffer.recorder_for(app)
            fresh = child.pending() == 0 and not child.thread_alive()
            response = click(app, slug)
            restarted = child.thread_alive() and child.pending() == 1
            written = child.flush() == 1
            status = 0 if (fresh and response.status_code == 302 and restarted and written) else 1
        finally:
            os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(wait_status) == 0

    # The parent still holds its own visit, with its flusher; the child wrote only its own.
    assert recorder.pending() == 1 and recorder.thread_alive()
    assert len(stored(app, link_id)) == 1
    recorder.flush()
    rows = stored(app, link_id)
    assert len(rows) == 2 and parent_jti in {row[2] for row in rows}
    assert len({row[2] for row in rows}) == 2


def test_interval_zero_writes_in_the_request(app_factory):
    app = app_factory(VISIT_FLUSH_INTERVAL=0)
    with app.app_context():
        public = factories.make_public_link()
        tracked = factories.make_tracked_link(public.id)
        slug, link_id = tracked.slug, tracked.id
    jti = jti_of(click(app, slug))
    assert stored(app, link_id) == [("human", "redirect", jti)]
    assert not visit_buffer.recorder_for(app).thread_alive()


def test_the_redirect_leaves_the_session_alone(buffered):
    """No session write (so no Set-Cookie) and no user loaded on the redirect."""
    app, slug, _ = buffered()
    seen = {}

    @app.after_request
    def observe(response):
        seen["modified"] = session.modified
        seen["user_loaded"] = "_login_user" in g
        return response

    response = click(app, slug)
    assert response.status_code == 302
    assert seen == {"modified": False, "user_loaded": False}
    assert "Set-Cookie" not in response.headers


def test_visits_of_every_outcome_are_buffered_alike(buffered):
    app, slug, link_id = buffered()
    assert app.test_client().head(f"/l/{slug}").status_code == 200
    assert (
        click(app, slug, agent="Googlebot/2.1 (+http://www.google.com/bot.html)").status_code == 200
    )
    assert click(app, "unknown-slug").status_code == 404
    visit_buffer.recorder_for(app).flush()
    assert stored(app, link_id) == [("head", "preview", None), ("bot", "preview", None)]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Visit)) == 2


def test_a_failed_flush_keeps_the_visits_for_the_next(buffered):
    app, slug, link_id = buffered()
    jtis = [jti_of(click(app, slug)) for _ in range(2)]
    recorder = visit_buffer.recorder_for(app)
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text("ALTER TABLE visits RENAME TO visits_away"))
    try:
        assert recorder.flush() == 0  # the database refuses: nothing lost, nothing written
        assert recorder.pending() == 2
    finally:
        with app.app_context(), db.engine.begin() as connection:
            connection.execute(text("ALTER TABLE visits_away RENAME TO visits"))
    assert recorder.flush() == 2
    assert [row[2] for row in stored(app, link_id)] == jtis


def test_a_visit_the_database_refuses_does_not_sink_its_batch(buffered):
    """E.g. its tracked link was deleted between the click and the flush."""
    app, slug, link_id = buffered()
    jti = jti_of(click(app, slug))
    recorder = visit_buffer.recorder_for(app)
    recorder.record(visit_buffer.PendingVisit(link_id + 1000, utcnow(), None, "human", "preview"))
    assert click(app, slug).status_code == 302
    assert recorder.flush() == 2
    rows = stored(app, link_id)
    assert len(rows) == 2 and rows[0][2] == jti
