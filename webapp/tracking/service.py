"""What a visit to /l/<slug> leads to. The hottest path: one indexed lookup, one insert.

The decision order matters: an unknown slug records nothing; a dead link (disabled,
expired, inactive Public Link) is refused for everyone; HEAD requests, bots and link
previews get no token and no click; a booked link (without repeat bookings) sends the
invitee to their booking; only then is a claim token minted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlencode

from sqlalchemy import insert, select

from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import UTM_KEYS, PublicLink, TrackedLink, Visit
from webapp.tracking.agents import HUMAN
from webapp.tracking.tokens import mint_claim_token

# Visit outcomes.
REDIRECT = "redirect"  # token minted, sent to the booking page
BOOKED = "booked"  # sent to the existing booking's view_url, no token
REFUSED = "refused"  # link disabled / expired / Public Link inactive (410)
PREVIEW = "preview"  # HEAD, bot or link preview: a small page, no token
UNAVAILABLE = "unavailable"  # no Embed credentials configured (503)
NOT_FOUND = "not_found"  # unknown slug; nothing recorded


@dataclass(frozen=True)
class EmbedCredentials:
    public_key: str
    secret: str
    token_lifetime: int


@dataclass(frozen=True)
class FollowResult:
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
    row = db.session.execute(
        select(
            TrackedLink.id,
            TrackedLink.correlation_id,
            TrackedLink.utm_source,
            TrackedLink.utm_medium,
            TrackedLink.utm_campaign,
            TrackedLink.utm_term,
            TrackedLink.utm_content,
            TrackedLink.expires_at,
            TrackedLink.disabled_at,
            TrackedLink.allow_repeat_bookings,
            TrackedLink.booking_view_url,
            PublicLink.url,
            PublicLink.active,
        )
        .join(PublicLink, PublicLink.id == TrackedLink.public_link_id)
        .where(TrackedLink.slug == slug)
    ).one_or_none()
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
        params = [("claim_token", claim.token), ("correlation_id", row.correlation_id)]
        params += [(key, value) for key in UTM_KEYS if (value := getattr(row, key))]
        result = FollowResult(REDIRECT, location=booking_url(row.url, params))

    with write_transaction():
        db.session.execute(
            insert(Visit).values(
                tracked_link_id=row.id,
                at=now,
                jti=jti,
                agent_class=agent_class,
                outcome=result.outcome,
            )
        )
    return result


def booking_url(public_link_url: str, params: list[tuple[str, str]]) -> str:
    """The Public Link URL with params appended, its own query kept, every value encoded."""
    query = urlencode(params, quote_via=quote, safe="")
    separator = "&" if "?" in public_link_url else "?"
    if public_link_url.endswith(("?", "&")):
        separator = ""
    return f"{public_link_url}{separator}{query}"
