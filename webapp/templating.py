"""Template helpers: the mode banner, times, and the words the pages use for app values.

One vocabulary for every page: Cronofy's notification types become "Booked",
"Rescheduled", "Declined" (unknown ones humanised), visitors are a "person" or a "bot or
preview", and a click that minted a token was "sent to booking page".

Times are written by webapp/localtime.py, in each viewer's own time zone; `iso_utc` (what
machines read) is re-exported here for the modules that always imported it from here.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, session
from flask_login import current_user

from webapp.config import embed_credentials_configured
from webapp.display import plural
from webapp.localtime import (
    exact_time,
    friendly_iso,
    friendly_time,
    iso_utc,
    local_input,
    meeting_span,
    relative_time,
    short_time,
    viewer_zone_name,
    zone_abbreviation,
)

__all__ = ["iso_utc"]  # and the filters and globals init_app registers

# Cronofy's type names (without the scheduling_request_ prefix), in the user's words.
STATUS_WORDS = {
    "time_chosen": "Booked",
    "rescheduled": "Rescheduled",
    "time_rescheduled": "Rescheduled",
    "declined": "Declined",
    "cancelled": "Cancelled",
}
STATUS_TONES = {
    "time_chosen": "success",
    "rescheduled": "info",
    "time_rescheduled": "info",
    "declined": "danger",
    "cancelled": "danger",
}
VISITOR_WORDS = {
    "human": "person",
    "bot": "bot or preview",
    "preview": "bot or preview",
    "head": "bot or preview",
}
OUTCOME_WORDS = {
    "redirect": "sent to booking page",
    "booked": "sent to their booking",
    "refused": "turned away: link switched off",
    "preview": "shown a Continue page",
    "unavailable": "booking page unavailable",
}
BANNER_SESSION_KEY = "banner_dismissed"


def app_mode() -> dict[str, Any]:
    """Sandbox or live, and what live mode still lacks (the settings page lists it)."""
    config = current_app.config
    missing = []
    if not embed_credentials_configured(config) or config.get("SANDBOX_CREDENTIALS_GENERATED"):
        missing.append("CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY and CRONOFY_SCHEDULER_EMBED_SECRET")
    if not config.get("CLIENT_SECRETS") or config.get("SANDBOX_CREDENTIALS_GENERATED"):
        missing.append("CRONOFY_CLIENT_SECRET")
    sandbox = bool(config.get("WEBAPP_SANDBOX"))
    return {
        "sandbox": sandbox,
        "missing_for_live": missing,
        "can_mint": embed_credentials_configured(config),
        "can_receive": bool(config.get("CLIENT_SECRETS")),
        # Names the state the banner describes: dismissing it hides that state only.
        "key": "sandbox" if sandbox else ("incomplete" if missing else "live"),
    }


def banner() -> dict[str, str] | None:
    """The one-line banner for the signed-in person, or None (live and complete, or
    dismissed for this session). The configuration steps are on the settings page."""
    mode = app_mode()
    if mode["key"] == "live" or session.get(BANNER_SESSION_KEY) == mode["key"]:
        return None
    if mode["sandbox"]:
        text = "Sandbox mode: bookings are simulated."
    elif not mode["can_mint"]:
        text = "Live mode is not fully set up: links cannot open Cronofy."
    else:
        text = "Live mode is not fully set up: bookings are not received."
    return {"key": mode["key"], "tone": "sandbox" if mode["sandbox"] else "warning", "text": text}


def humanize_type(value: str | None) -> str:
    """'scheduling_request_time_chosen' -> 'Booked'; unknown types read as words."""
    if not value:
        return "Unknown"
    bare = value.removeprefix("scheduling_request_")
    if bare in STATUS_WORDS:
        return STATUS_WORDS[bare]
    text = bare.replace("_", " ").replace(".", " ").strip()
    return text[:1].upper() + text[1:] if text else "Unknown"


def status_tone(value: str | None) -> str:
    """The badge colour of a status: success, info, danger or neutral."""
    bare = (value or "").removeprefix("scheduling_request_")
    return STATUS_TONES.get(bare, "neutral")


def visitor_kind(agent_class: str | None) -> str:
    return VISITOR_WORDS.get(agent_class or "", agent_class or "unknown")


def visit_outcome(outcome: str | None) -> str:
    return OUTCOME_WORDS.get(outcome or "", (outcome or "unknown").replace("_", " "))


def initials(name: str | None) -> str:
    """Up to two letters for an avatar: "Ada Admin" -> "AA", "ada@example.com" -> "A"."""
    words = [word for word in (name or "").split("@")[0].replace(".", " ").split() if word]
    letters = "".join(word[0] for word in words[:2]).upper()
    return letters or "?"


def number(value: int | None) -> str:
    return f"{value or 0:,}"


def shell_context() -> dict[str, Any]:
    """What the layout needs about the signed-in person (nothing for anonymous pages)."""
    if not current_user or not current_user.is_authenticated:
        return {}
    return {
        "me": {
            "name": current_user.display_name,
            "email": current_user.email,
            "role": "Admin" if current_user.is_admin else "Staff",
            "initials": initials(current_user.name or current_user.email),
        }
    }


def init_app(app: Flask) -> None:
    filters = app.jinja_env.filters
    filters["humanize_type"] = humanize_type
    filters["status_tone"] = status_tone
    filters["visitor_kind"] = visitor_kind
    filters["visit_outcome"] = visit_outcome
    filters["iso_utc"] = iso_utc
    filters["exact_time"] = exact_time
    filters["friendly_time"] = friendly_time
    filters["friendly_iso"] = friendly_iso
    filters["meeting_span"] = meeting_span
    filters["short_time"] = short_time
    filters["local_input"] = local_input
    filters["relative_time"] = relative_time
    filters["number"] = number
    filters["plural"] = plural
    app.jinja_env.globals["app_mode"] = app_mode
    app.jinja_env.globals["banner"] = banner
    app.jinja_env.globals["shell_context"] = shell_context
    app.jinja_env.globals["viewer_zone_name"] = viewer_zone_name
    app.jinja_env.globals["zone_abbreviation"] = zone_abbreviation
