"""CLI wiring. Each feature keeps its commands beside its code and registers them here."""

from flask import Flask


def init_app(app: Flask) -> None:
    from webapp.alerts.cli import register as register_alerts
    from webapp.auth.cli import register as register_auth
    from webapp.sandbox.cli import register as register_sandbox
    from webapp.webhooks.cli import register as register_webhooks

    register_alerts(app)
    register_auth(app)
    register_sandbox(app)
    register_webhooks(app)
