"""Saved views: a person's named set of filters for a list page (webapp/savedviews/)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow
from webapp.models.users import User

# The pages that have saved views, by the name their rows carry.
VIEW_PAGES = ("requests", "links")


class SavedView(db.Model):
    __tablename__ = "saved_views"
    __table_args__ = (
        UniqueConstraint("user_id", "page", "name", name="uq_saved_views_user_page_name"),
        Index("ix_saved_views_page_shared", "page", "shared"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    page: Mapped[str] = mapped_column(String(16))  # one of VIEW_PAGES
    name: Mapped[str] = mapped_column(String(80))
    # The page's query string without paging ("status=time_chosen&owner=mine").
    query: Mapped[str] = mapped_column(String(2000))
    shared: Mapped[bool] = mapped_column(default=False)  # listed for everyone, not only its owner
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()
