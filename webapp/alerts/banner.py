"""The silence alarm on staff pages: a per-process cache and the template global.

Staff page views keep the state fresh (at most one check per ALERT_SILENCE_CACHE_SECONDS
per process, each two or three indexed queries) and so also notice a new episode while
people use the app; `flask --app webapp alerts check-silence` does the same from cron.
The banner (templates/alerts/_silence.html) reads the cached state and never writes.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_login import current_user

from webapp.alerts import silence
from webapp.models import utcnow
from webapp.urls import external_url

log = logging.getLogger(__name__)

CACHE_KEY = "webapp.alerts.silence_cache"
# Requests that are not staff pages: the redirect's hot path, the API, the receiver, streams.
# Staff requests that are not page views (sessionless ones never reach the hook).
SKIPPED_PREFIXES = (
    "/api/",
    "/sandbox/",
    "/static/",
    "/healthz",
    "/live/stream",
)


@dataclass
class _Cached:
    state: silence.SilenceState
    expires: float
    episode_checked: bool  # True once check() (which records episodes) produced it


class SilenceCache:
    """The newest state, per app and process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached: _Cached | None = None

    def get(self, *, record_episode: bool) -> silence.SilenceState:
        """The cached state while fresh, else a new one. Computed outside the lock: two
        threads may both compute at expiry (harmless: episodes are unique rows), but none
        waits behind another's database work."""
        ttl = float(current_app.config.get("ALERT_SILENCE_CACHE_SECONDS", 30))
        with self._lock:
            cached = self._cached
        if (
            cached is not None
            and cached.expires > time.monotonic()
            and (cached.episode_checked or not record_episode)
        ):
            return cached.state
        now = utcnow()
        if record_episode:
            try:
                state, _ = silence.check(now)
            except Exception:  # a failing hook must not break the page; retried later
                log.exception("the silence alarm's episode hook failed")
                state = silence.evaluate(now, silence.threshold_hours())
        else:
            state = silence.evaluate(now, silence.threshold_hours())
        with self._lock:
            self._cached = _Cached(state, time.monotonic() + ttl, record_episode)
        return state

    def clear(self) -> None:
        with self._lock:
            self._cached = None


def cache_for(app: Flask) -> SilenceCache:
    return app.extensions.setdefault(CACHE_KEY, SilenceCache())  # type: ignore[no-any-return]


def refresh_on_staff_pages() -> None:
    """Before staff pages (webapp/staff_pages.py): keep the state fresh on signed-in page
    views."""
    if request.method != "GET" or request.path.startswith(SKIPPED_PREFIXES):
        return
    if not current_user.is_authenticated:
        return
    cache_for(current_app).get(record_episode=True)


def silence_alarm() -> dict[str, object] | None:
    """For the banner: the alarm's figures and what to check, or None when all is well."""
    state = cache_for(current_app).get(record_episode=False)
    if not state.alarming:
        return None
    return {
        "state": state,
        "hours": state.hours_silent,
        "clicks": state.clicks,
        "never": state.last_notification_at is None,
        "receiver_url": external_url("webhooks.receive"),
    }
