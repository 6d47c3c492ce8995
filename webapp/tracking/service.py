"""What a visit to /l/<slug> leads to. The hottest path: one indexed lookup, one insert.

The lookup (`lookup.py`) runs on the request; the Visit insert is handed to `visits.py`,
which writes it in the request (tests) or in the next batch of its write-behind buffer
(servers). Nothing else touches the database, the ORM session or the user session.

The decision order matters: an unknown slug records nothing; a dead link (disabled,
expired, inactive Public Link) is refused for everyone; HEAD requests, bots and link
previews get no token and no click; a booked link (without repeat bookings) sends the
invitee to their booking; only then is a claim token minted.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from urllib.parse import quote

from flask import current_app

from webapp.models import UTM_KEYS
from webapp.tracking.agents import HUMAN
from webapp.tracking.lookup import find_link
from webapp.tracking.tokens import mint_claim_token
from webapp.tracking.visits import (
    BOOKED,
    NOT_FOUND,
    PREVIEW,
    REDIRECT,
    REFUSED,
    UNAVAILABLE,
    PendingVisit,
    recorder_for,
)


# NamedTuples, not frozen dataclasses: as immutable, and cheaper to make on every click.
class EmbedCredentials(NamedTuple):
    public_key: str
    secret: str
    token_lifetime: int


class FollowResult(NamedTuple):
    outcome: str
    location: str | None = None  # where to redirect, for REDIRECT and BOOKED
    reason: str | None = None  # for REFUSED: "disabled" | "expired" | "inactive"


def follow(
    slug: str,
    *,
    agent_class: str,
    credentials: EmbedCredentials | None,
    now: datetime,
) -> FollowResult:
    """Decide the answer to one visit of a tracked link and record it as a Visit.

    `agent_class` comes from `agents.classify_request`; `credentials` is None when the
    Embed public key or secret is not configured.
    """
    row = find_link(slug)
    if row is None:
        return FollowResult(NOT_FOUND)

    jti = None
    if row.disabled_at is not None:
        result = FollowResult(REFUSED, reason="disabled")
    elif row.expires_at is not None and row.expires_at <= now:
        result = FollowResult(REFUSED, reason="expired")
    elif not row.active:
        result = FollowResult(REFUSED, reason="inactive")
    elif agent_class != HUMAN:
        result = FollowResult(PREVIEW)
    elif row.booking_view_url and not row.allow_repeat_bookings:
        result = FollowResult(BOOKED, location=row.booking_view_url)
    elif credentials is None:
        result = FollowResult(UNAVAILABLE)
    else:
        claim = mint_claim_token(
            embed_public_key=credentials.public_key,
            embed_secret=credentials.secret,
            now=now,
            lifetime_seconds=credentials.token_lifetime,
        )
        jti = claim.jti
        params = [("correlation_id", row.correlation_id)]
        params += [(key, value) for key in UTM_KEYS if (value := getattr(row, key))]
        result = FollowResult(REDIRECT, location=booking_url(row.url, params, claim.token))

    recorder = recorder_for(current_app._get_current_object())  # type: ignore[attr-defined]
    recorder.record(PendingVisit(row.id, now, jti, agent_class, result.outcome))
    return result


def booking_url(
    public_link_url: str, params: list[tuple[str, str]], claim_token: str | None = None
) -> str:
    """The Public Link URL with claim_token then params appended, its own query kept, every
    value URL-encoded (a claim token is base64url and dots, which need no encoding)."""
    pairs = [f"{key}={quote(value, safe='')}" for key, value in params]
    if claim_token is not None:
        pairs.insert(0, f"claim_token={claim_token}")
    return _query_prefix(public_link_url) + "&".join(pairs)


def _query_prefix(public_link_url: str) -> str:
    """The stored URL followed by the separator its own query (if any) calls for."""
    if public_link_url.endswith(("?", "&")):
        return public_link_url
    return public_link_url + ("&" if "?" in public_link_url else "?")
