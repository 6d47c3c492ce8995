"""The audit log (append-only) and the silence alarm's record of episodes already told."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow

__all__ = ["AuditEvent", "AuditLogIsAppendOnly", "SilenceEpisode"]


class AuditLogIsAppendOnly(RuntimeError):
    """Something tried to change or delete an audit entry through the ORM."""


class AuditEvent(db.Model):
    """One staff (or system) action: who, when, from where, on what, and what changed.

    Rows are only ever added (see `refuse_changes` below); `actor_email` and
    `target_name` are snapshots, so an entry still reads right after the user or link
    it names has changed.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        # The page and the API list newest first, keyset-paginated on (at, id); each filter
        # has an index that starts with its column and ends with the sort key.
        Index("ix_audit_events_at_id", "at", "id"),
        Index("ix_audit_events_action_at", "action", "at", "id"),
        Index("ix_audit_events_actor_at", "actor_id", "at", "id"),
        Index("ix_audit_events_target_at", "target_type", "at", "id"),
        # One thing's history (a tracked link's timeline, webapp/links/timeline.py).
        Index("ix_audit_events_target_id_at", "target_type", "target_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system
    actor_email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))  # the client address, or "cli"
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[int | None] = mapped_column()
    target_name: Mapped[str | None] = mapped_column(String(300))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


@event.listens_for(Session, "before_flush")
def refuse_changes(session: Session, _context: Any, _instances: Any) -> None:
    """Append-only at the ORM level: a flush that edits or deletes an entry fails."""
    for instance in (*session.dirty, *session.deleted):
        if isinstance(instance, AuditEvent) and (
            instance in session.deleted or session.is_modified(instance)
        ):
            raise AuditLogIsAppendOnly("audit entries are never changed or deleted")


class SilenceEpisode(db.Model):
    """A silence alarm that has been raised (and its admins told) once.

    An episode is keyed by the newest delivery when it began (0: none ever arrived), so
    a new notification ends it and the next silence is a new row; the unique key makes
    "told once" hold across workers and servers.
    """

    __tablename__ = "silence_episodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    after_delivery_id: Mapped[int] = mapped_column(unique=True)
    silent_since: Mapped[datetime] = mapped_column(UTCDateTime)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    clicks: Mapped[int] = mapped_column(default=0)  # person clicks when it was detected
