"""Template helpers: the mode banner, times, and humanised notification types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app

from webapp.config import embed_credentials_configured


def app_mode() -> dict[str, Any]:
    """What the banner says: sandbox or live, and what live mode still lacks."""
    config = current_app.config
    missing = []
    if not embed_credentials_configured(config) or config.get("SANDBOX_CREDENTIALS_GENERATED"):
        missing.append("CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY and CRONOFY_SCHEDULER_EMBED_SECRET")
    if not config.get("CLIENT_SECRETS") or config.get("SANDBOX_CREDENTIALS_GENERATED"):
        missing.append("CRONOFY_CLIENT_SECRET")
    return {
        "sandbox": bool(config.get("WEBAPP_SANDBOX")),
        "missing_for_live": missing,
        "can_mint": embed_credentials_configured(config),
        "can_receive": bool(config.get("CLIENT_SECRETS")),
    }


def humanize_type(value: str | None) -> str:
    """'scheduling_request_time_chosen' -> 'Time chosen'; unknown types read the same way."""
    if not value:
        return "Unknown"
    text = value.removeprefix("scheduling_request_").replace("_", " ").replace(".", " ").strip()
    return text[:1].upper() + text[1:] if text else "Unknown"


def iso_utc(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def exact_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def relative_time(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return "never"
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    if seconds < 0:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now" if seconds < 10 else f"{seconds} seconds ago"


def init_app(app: Flask) -> None:
    app.jinja_env.filters["humanize_type"] = humanize_type
    app.jinja_env.filters["iso_utc"] = iso_utc
    app.jinja_env.filters["exact_time"] = exact_time
    app.jinja_env.filters["relative_time"] = relative_time
    app.jinja_env.globals["app_mode"] = app_mode
