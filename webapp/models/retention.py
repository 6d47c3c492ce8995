"""Retention's own records: the click counts of visits it removed, and the "last run" of
periodic jobs that must run once a day across every worker and server."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models.types import UTCDateTime

__all__ = ["PeriodicRun", "PurgedVisitCount", "purged_visits"]


class PurgedVisitCount(db.Model):
    """Visits of a tracked link that retention removed, counted before they went.

    A link's click count is its human Visit rows plus `human_visits` here, so counts stay
    right after a purge (webapp/links/queries.py: click_counts)."""

    __tablename__ = "purged_visit_counts"

    tracked_link_id: Mapped[int] = mapped_column(
        ForeignKey("tracked_links.id", ondelete="CASCADE"), primary_key=True
    )
    human_visits: Mapped[int] = mapped_column(default=0)
    visits: Mapped[int] = mapped_column(default=0)  # every kind: people, bots, previews


class PeriodicRun(db.Model):
    """When a periodic job (e.g. the daily purge) last started, by job name.

    A conditional UPDATE on `last_started_at` claims a run, so the job runs once per period
    however many workers and servers tick."""

    __tablename__ = "periodic_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def purged_visits(link_ids: Sequence[int], *, humans_only: bool) -> dict[int, int]:
    """Visits retention removed, per tracked link (for these ids), to add to the rows left:
    people's visits only (the click counts) or every kind."""
    if not link_ids:
        return {}
    column = PurgedVisitCount.human_visits if humans_only else PurgedVisitCount.visits
    rows = db.session.execute(
        select(PurgedVisitCount.tracked_link_id, column).where(
            PurgedVisitCount.tracked_link_id.in_(list(link_ids)), column > 0
        )
    )
    return {link_id: count for link_id, count in rows}
