"""What each remaining speed trick buys: `.venv/bin/python benchmarks/tricks.py` (~1 minute).

Each trick is measured in one process on a seeded SQLite file, beside the plain way it
replaces, the two sides interleaved (with, without, with, without, ...), as CPU time per
operation (`time.process_time`, every thread of the process, so a flusher's or a writer's
work is counted too); a figure is the median over the repetitions. In-process figures leave
out what gunicorn and the network add (about 0.4 ms a request on a 2-core machine), so a
saving here is a larger share of a request than of a server's throughput; the throughput
figures themselves are `benchmarks/run.py`'s.

The tricks (benchmarks/README.md has the table and what each one's code says):
- sessionless endpoints: `/l/<slug>` without the staff pages' machinery, against the same
  app with the tracking blueprint's `sessionless` mark taken off;
- the lookup: through the driver on the AUTOCOMMIT engine (`database.PlainSelect`), against
  `Connection.execute` on the same engine, and against the ORM session on the main engine;
- the visit write-behind buffer: visits written in a batch of 100 (what a worker's flusher
  writes every 0.1 s under load), against one write transaction per visit;
- the receiver's group commit: deliveries stored in batches of 4 (what each of 4 workers
  gathers at 16 concurrent senders), against one transaction each; through the driver
  (`database.PlainInsert`) against SQLAlchemy's own `Connection.execute`; and through a
  Core connection against the ORM session;
- the applier's batches: stored deliveries applied 25 at a time (the applier's usual batch
  under load), against one at a time.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `webapp` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.deliveries import DeliveryFactory  # noqa: E402
from benchmarks.seed import prepare_app  # noqa: E402
from tests.support.signin import BROWSER_UA  # noqa: E402

REPS = 5
LINKS = 1000


def per_op(work: Callable[[], int], reps: int = REPS) -> float:
    """Median CPU microseconds per operation; `work` runs a round and says how many ops."""
    work()  # warm caches, compiled statements and pools
    figures = []
    for _ in range(reps):
        start = time.process_time()
        count = work()
        figures.append((time.process_time() - start) / count * 1e6)
    return statistics.median(figures)


def side_by_side(trick: Callable[[], int], plain: Callable[[], int]) -> tuple[float, float]:
    """(trick, plain) medians, their rounds interleaved so that drift hits both alike."""
    trick(), plain()
    with_trick, without = [], []
    for _ in range(REPS):
        with_trick.append(per_op(trick, 1))
        without.append(per_op(plain, 1))
    return statistics.median(with_trick), statistics.median(without)


def wsgi_get(app: Any, path: str) -> None:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": BROWSER_UA,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    statuses: list[str] = []
    body = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    for _ in body:
        pass
    getattr(body, "close", lambda: None)()
    if not statuses[0].startswith("302"):
        raise RuntimeError(f"{path} answered {statuses[0]}, not a redirect")


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-tricks-"))
    env, pairs = prepare_app(workdir / "app", LINKS)
    os.environ.update(env)
    from webapp import create_app
    from webapp.tracking import bp as tracking_bp

    app = create_app({"VISIT_FLUSH_INTERVAL": 0.1})
    del tracking_bp.sessionless  # the same app, the redirect a staff page (public)
    try:
        staffed = create_app({"VISIT_FLUSH_INTERVAL": 0.1})
    finally:
        tracking_bp.sessionless = True
    slugs = [slug for slug, _ in pairs]
    rows: list[tuple[str, str, float, float]] = []

    def redirects(target: Any) -> Callable[[], int]:
        def run() -> int:
            for slug in slugs:
                wsgi_get(target, f"/l/{slug}")
            return len(slugs)

        return run

    rows.append(
        (
            "sessionless endpoints",
            "GET /l/<slug>, whole request",
            *side_by_side(redirects(app), redirects(staffed)),
        )
    )
    rows += lookup_rows(app, slugs)
    rows.append(visit_row(app))
    rows += store_rows(app, [correlation_id for _, correlation_id in pairs])
    rows.append(apply_row(app, [correlation_id for _, correlation_id in pairs]))
    print("| trick | operation | with (us CPU) | without (us CPU) | buys |")
    print("| --- | --- | --- | --- | --- |")
    for trick, operation, with_trick, without in rows:
        saving = 1 - with_trick / without
        print(f"| {trick} | {operation} | {with_trick:.0f} | {without:.0f} | {saving:.0%} less |")


def lookup_rows(app: Any, slugs: list[str]) -> list[tuple[str, str, float, float]]:
    from webapp.database import autocommit_engine
    from webapp.extensions import db
    from webapp.tracking.lookup import LOOKUP, find_link

    def through_driver() -> int:
        for slug in slugs:
            find_link(slug)
        return len(slugs)

    def through_connection() -> int:
        for slug in slugs:
            with autocommit_engine().connect() as connection:
                connection.execute(LOOKUP, {"slug": slug}).one_or_none()
        return len(slugs)

    def through_session() -> int:
        for slug in slugs:
            db.session.execute(LOOKUP, {"slug": slug}).one_or_none()
            db.session.rollback()
        return len(slugs)

    with app.app_context():
        driver, connection = side_by_side(through_driver, through_connection)
        autocommit, session = side_by_side(through_connection, through_session)
    return [
        ("lookup through the driver", "one tracked-link lookup", driver, connection),
        ("AUTOCOMMIT Core lookup", "one tracked-link lookup", autocommit, session),
    ]


def visit_row(app: Any) -> tuple[str, str, float, float]:
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import TrackedLink, utcnow
    from webapp.tracking.visits import PendingVisit, VisitRecorder

    with app.app_context():
        ids = list(db.session.scalars(select(TrackedLink.id).limit(100)))
        db.session.remove()
    batched = VisitRecorder(app, 3600)  # its flush is called here, never by a thread
    at_once = VisitRecorder(app, 0)

    def visits() -> list[PendingVisit]:
        now = utcnow()
        return [PendingVisit(link_id, now, None, "human", "redirect") for link_id in ids]

    def in_batches() -> int:
        for _ in range(3):
            for visit in visits():
                batched.record(visit)
            batched.flush()
        return 3 * len(ids)

    def one_by_one() -> int:
        for visit in visits():
            at_once.record(visit)
        return len(ids)

    with app.app_context():
        result = side_by_side(in_batches, one_by_one)
    batched.close()
    return ("visit write-behind buffer", "record one visit (batches of 100)", *result)


def store_rows(app: Any, correlation_ids: list[str]) -> list[tuple[str, str, float, float]]:
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    from webapp.database import write_connection
    from webapp.extensions import db
    from webapp.models import Delivery, utcnow
    from webapp.webhooks import receiver, store
    from webapp.writeturns import writers_in_turn

    factory = DeliveryFactory("CRN_tricks", "tricks", correlation_ids)
    engine = None

    def rows(count: int) -> list[tuple[Any, ...]]:
        return [
            receiver.read(factory.next_body()[1], utcnow(), engine.dialect).values
            for _ in range(count)
        ]

    def core(batch: int) -> Callable[[], int]:
        def run() -> int:
            for _ in range(200 // batch):
                items = rows(batch)
                with write_connection(engine, writers_in_turn(engine.url)) as connection:
                    store.insert_deliveries(connection, items)
            return 200 // batch * batch

        return run

    def core_execute() -> int:
        """The same batches through `Connection.execute` (SQLAlchemy's insertmanyvalues)."""
        statement = sqlite_insert(store.DELIVERIES).on_conflict_do_nothing(
            index_elements=["body_sha256"]
        )
        statement = statement.returning(store.DELIVERIES.c.id, store.DELIVERIES.c.body_sha256)
        for _ in range(50):
            bodies = [factory.next_body()[1] for _ in range(4)]
            items = [receiver.delivery_row(body, utcnow())[0] for body in bodies]
            with write_connection(engine, writers_in_turn(engine.url)) as connection:
                list(connection.execute(statement, items))
        return 200

    def orm() -> int:
        for _ in range(50):
            bodies = [factory.next_body()[1] for _ in range(4)]
            db.session.add_all(
                Delivery(**receiver.delivery_row(body, utcnow())[0]) for body in bodies
            )
            db.session.commit()
        return 200

    with app.app_context():
        engine = db.engine
        grouped, single = side_by_side(core(4), core(1))
        driver_figure, execute_figure = side_by_side(core(4), core_execute)
        core_figure, orm_figure = side_by_side(core(4), orm)
    return [
        ("receiver group commit", "store one delivery (batches of 4 vs 1)", grouped, single),
        (
            "the batch INSERT through the driver",
            "store one delivery (batches of 4), against Connection.execute",
            driver_figure,
            execute_figure,
        ),
        (
            "Core statements in the receiver",
            "store one delivery (batches of 4), against the ORM session",
            core_figure,
            orm_figure,
        ),
    ]


def apply_row(app: Any, correlation_ids: list[str]) -> tuple[str, str, float, float]:
    from webapp.database import write_connection
    from webapp.models import utcnow
    from webapp.webhooks import processing, receiver, store

    factory = DeliveryFactory("CRN_tricks", "apply", correlation_ids)
    inbox = processing.Inbox.for_app(app)

    def stored(count: int) -> None:
        dialect = inbox.engine.dialect
        bodies = [factory.next_body()[1] for _ in range(count)]
        rows = [receiver.read(body, utcnow(), dialect).values for body in bodies]
        with write_connection(inbox.engine) as connection:
            store.insert_deliveries(connection, rows)

    def batches_of(size: int) -> Callable[[], int]:
        def run() -> int:
            stored(100)  # timed too: storing costs both sides the same
            applied = 0
            while done := processing.apply_pending(inbox, size):
                applied += len(done)
            return applied

        return run

    with app.app_context():
        result = side_by_side(batches_of(25), batches_of(1))
    return ("applier batches", "store and apply one delivery (25 vs 1 a batch)", *result)


if __name__ == "__main__":
    main()
