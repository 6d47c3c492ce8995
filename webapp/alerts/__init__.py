"""Alerts that watch the app itself: the silence alarm (silence.py, banner.py, cli.py)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from webapp.alerts import banner

    app.before_request(banner.refresh_on_staff_pages)
    app.jinja_env.globals["silence_alarm"] = banner.silence_alarm
