"""Outbound webhooks (Standard Webhooks) and Slack messages: endpoints admins manage on
/settings/webhooks (`bp`) and through /api/v1/webhook-endpoints, fed by the emit_*
functions in events.py and sent through the outbox (kinds "webhook" and "slack")."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask
from flask_login import current_user

from webapp import outbox

bp = Blueprint("outbound", __name__, url_prefix="/settings/webhooks")


def admin_alerts() -> list[Any]:
    """For the admin banner (templates/outbound/_banner.html): endpoints failing for 12 h
    or disabled for failing; empty for anyone but a signed-in admin."""
    from webapp.outbound.health import alerts_for_admins

    if not getattr(current_user, "is_authenticated", False) or not current_user.is_admin:
        return []
    return alerts_for_admins()


def init_app(app: Flask) -> None:
    from webapp.models import ENDPOINT_SLACK, ENDPOINT_WEBHOOK
    from webapp.outbound import delivery, health

    for kind in (ENDPOINT_WEBHOOK, ENDPOINT_SLACK):
        outbox.register_sender(app, kind, delivery.send, on_result=health.on_result)
    app.jinja_env.globals["outbound_alerts"] = admin_alerts
    app.register_blueprint(bp)


from webapp.outbound import views  # noqa: E402, F401  (routes on bp)
