"""Alerts that watch the app itself: the silence alarm (silence.py; the banner and its cache,
banner.py; its details page, views.py; telling the admins by email, notify.py; cli.py).

Wiring: the alarm is checked on staff page views (banner.py), from the outbox worker's
periodic tick (so admins hear of a silence even when nobody opens the app) and from cron
(`flask --app webapp alerts check-silence`); each new episode emails every admin once.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Flask

from webapp import outbox

bp = Blueprint("alerts", __name__)


def check_on_tick(now: datetime) -> None:
    """The outbox worker's periodic job: notice a new episode (and tell the admins)."""
    from webapp.alerts import silence

    silence.check(now)


def init_app(app: Flask) -> None:
    from webapp import staff_pages
    from webapp.alerts import banner, notify, silence

    staff_pages.before_staff_pages(app, banner.refresh_on_staff_pages)
    app.jinja_env.globals["silence_alarm"] = banner.silence_alarm
    silence.set_episode_hook(app, notify.email_admins)
    outbox.register_tick(app, check_on_tick)
    app.register_blueprint(bp)


from webapp.alerts import views  # noqa: E402, F401  (routes on bp)
