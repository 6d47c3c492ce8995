"""The tracked-links list's filters as the URL carries them (the page, its CSV export).

"Created by" defaults the same way for everyone: "Mine" when you have created links, else
"Anyone". The follow-up states (webapp/links/followup.py) ride on the same URL.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import request
from flask_login import current_user

from webapp.links import queries
from webapp.links.followup import DEFAULT_IDLE_HOURS, parse_hours
from webapp.links.inputs import parse_id
from webapp.models import utcnow
from webapp.outcomes import CLICKED_NOT_BOOKED, STATES


def list_filters() -> tuple[queries.LinkFilters, dict[str, str]]:
    """The list's filters from the query string, and the args that reproduce them.

    "Created by" defaults the same way for everyone: "Mine" when you have created links,
    else "Anyone".
    """
    owner = request.args.get("owner", "")
    if owner not in (queries.OWNER_MINE, queries.OWNER_ALL):
        has_own = queries.has_tracked_links(current_user.id)
        owner = queries.OWNER_MINE if has_own else queries.OWNER_ALL
    raw_public = request.args.get("public_link", "")
    public_link_id = parse_id(raw_public)
    batch_id = parse_id(request.args.get("batch", ""))
    q = request.args.get("q", "").replace("\x00", "").strip()[:200]
    state, idle_hours = follow_up_args(request.args)
    args = {
        "q": q,
        "public_link": str(public_link_id or ""),
        "owner": owner,
        "batch": str(batch_id or ""),
        "state": state or "",
        "idle_hours": str(idle_hours) if state == CLICKED_NOT_BOOKED else "",
    }
    filters = queries.LinkFilters(
        q=q,
        public_link_id=public_link_id,
        owner=owner,
        user_id=current_user.id,
        batch_id=batch_id,
        state=state,
        clicked_before=utcnow() - timedelta(hours=idle_hours) if idle_hours else None,
    )
    return filters, {key: value for key, value in args.items() if value}


def follow_up_args(args: Any) -> tuple[str | None, int]:
    """The follow-up state and, for "clicked, not booked", how many hours the last click
    must be old (DEFAULT_IDLE_HOURS unless the URL says; 0: any age). Nonsense is ignored."""
    state = args.get("state") or None
    if state not in STATES:
        return None, 0
    if state != CLICKED_NOT_BOOKED:
        return state, 0
    hours = parse_hours(args.get("idle_hours"))
    return state, DEFAULT_IDLE_HOURS if hours is None else hours
