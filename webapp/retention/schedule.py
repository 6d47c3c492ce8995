"""The daily purge: run from the outbox worker's periodic tick, once a day in all.

Every worker process ticks about once a minute (webapp/outbox/worker.py), on every server.
The run is claimed in the database: a conditional UPDATE of periodic_runs.last_started_at
succeeds for one claimer per day, whichever process gets there first; the others see it
and do nothing. An idle tick is one read.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import PeriodicRun
from webapp.retention.purge import PurgeReport, purge

log = logging.getLogger(__name__)

JOB = "retention.purge"
PERIOD = timedelta(days=1)
RUNS = PeriodicRun.__table__


def _due(now: datetime):  # type: ignore[no-untyped-def]
    return or_(RUNS.c.last_started_at.is_(None), RUNS.c.last_started_at <= now - PERIOD)


def claim(name: str, now: datetime) -> bool:
    """Claim this period's run of job `name` at `now`; True for exactly one claimer."""
    waiting = db.session.scalar(select(RUNS.c.last_started_at).where(RUNS.c.name == name))
    db.session.commit()
    if waiting is not None and waiting > now - PERIOD:
        return False  # the usual tick: done today, one read
    with write_transaction():
        dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
        db.session.execute(dialect.insert(RUNS).values(name=name).on_conflict_do_nothing())
        claimed = db.session.execute(
            update(RUNS).where(RUNS.c.name == name, _due(now)).values(last_started_at=now)
        )
    return claimed.rowcount == 1  # type: ignore[attr-defined]


def finished(name: str, now: datetime) -> None:
    with write_transaction():
        db.session.execute(update(RUNS).where(RUNS.c.name == name).values(last_finished_at=now))


def purge_on_tick(now: datetime) -> PurgeReport | None:
    """The outbox worker's periodic job: the day's purge, if RETENTION_DAYS is set and no
    worker anywhere has run it in the last day."""
    days = current_app.config.get("RETENTION_DAYS")
    if not days or not claim(JOB, now):
        return None
    report = purge(now, days)
    finished(JOB, now)
    log.info("retention purge (%s days): %s", days, report.counts)
    return report
