"""Which saved views a person sees on a page, and what each one's filters are.

A saved view keeps a page's query string; only the page's own filter names are kept (no
cursor, no position), so opening one shows its first page with exactly those filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from flask import url_for
from flask_login import current_user
from sqlalchemy import or_, select

from webapp.extensions import db
from webapp.models import SavedView, User

# Per page: the endpoint it lives at and the query names that are its filters.
PAGES = {
    "requests": (
        "live.index",
        ("q", "status", "public_link", "owner", "match", "sort", "tests", "per_page"),
    ),
    "links": (
        "links.tracked_links",
        ("q", "public_link", "owner", "state", "idle_hours", "batch", "per_page"),
    ),
}
MAX_SHOWN = 50
MAX_VALUE_LENGTH = 300


@dataclass(frozen=True)
class ShownView:
    id: int
    name: str
    url: str
    shared: bool
    mine: bool
    owner: str

    @property
    def description(self) -> str:
        if self.mine:
            return "yours, shared with everyone" if self.shared else "yours"
        return f"shared by {self.owner}"


def clean_query(page: str, query: str) -> str:
    """The page's filters from a query string, re-encoded; other names are dropped."""
    _, allowed = PAGES[page]
    pairs = [
        (name, value[:MAX_VALUE_LENGTH])
        for name, value in parse_qsl(query or "", keep_blank_values=False)
        if name in allowed and value.strip() and "\x00" not in value
    ]
    return urlencode(pairs)


def view_url(page: str, query: str) -> str:
    endpoint, _ = PAGES[page]
    base = url_for(endpoint)
    return f"{base}?{query}" if query else base


def views_for_page(page: str) -> list[ShownView]:
    """The signed-in person's views of the page and everyone's shared ones, by name."""
    user_id = current_user.id
    rows = db.session.execute(
        select(SavedView, User.name, User.email)
        .join(User, User.id == SavedView.user_id)
        .where(
            SavedView.page == page,
            or_(SavedView.user_id == user_id, SavedView.shared.is_(True)),
        )
        .order_by(SavedView.name, SavedView.id)
        .limit(MAX_SHOWN)
    )
    return [
        ShownView(
            id=view.id,
            name=view.name,
            url=view_url(page, view.query),
            shared=view.shared,
            mine=view.user_id == user_id,
            owner=name or email,
        )
        for view, name, email in rows
    ]
