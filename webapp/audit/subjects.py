"""How each kind of thing appears in the audit log: its target and its recorded fields.

A target's `name` is what people know it by and search for: a user's email, a Public
Link's name, a tracked link's correlation ID, an API token's name.
"""

from __future__ import annotations

from typing import Any

from webapp.audit import actions
from webapp.audit.log import Target
from webapp.models import UTM_KEYS, ApiToken, PublicLink, TrackedLink, User

# The tracked link's columns its audit entries record as they are, in this order.
TRACKED_LINK_COLUMNS = ("correlation_id", "public_link_id", "label", *UTM_KEYS, "expires_at")


def user_target(user: User) -> Target:
    return Target(actions.TARGET_USER, user.id, user.email)


def public_link_target(link: PublicLink) -> Target:
    return Target(actions.TARGET_PUBLIC_LINK, link.id, link.name)


def tracked_link_target(link: TrackedLink) -> Target:
    return Target(actions.TARGET_TRACKED_LINK, link.id, link.correlation_id)


def api_token_target(token: ApiToken) -> Target:
    return Target(actions.TARGET_API_TOKEN, token.id, token.name)


def user_fields(user: User) -> dict[str, Any]:
    return {"email": user.email, "name": user.name, "role": user.role, "active": user.active}


def public_link_fields(link: PublicLink) -> dict[str, Any]:
    return {"name": link.name, "url": link.url, "active": link.active}


def tracked_link_fields(link: TrackedLink) -> dict[str, Any]:
    return {
        **{name: getattr(link, name) for name in TRACKED_LINK_COLUMNS},
        "disabled": link.disabled_at is not None,
        "allow_repeat_bookings": link.allow_repeat_bookings,
    }
