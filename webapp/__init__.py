"""The Public Links dashboard: create_app() reads as the table of contents."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app. No migrations, no network: those belong to the CLI and gunicorn hooks."""
    instance_path = (
        (test_config or {}).get("INSTANCE_PATH")
        or os.environ.get("WEBAPP_INSTANCE_PATH")
        or str(ROOT / "instance")
    )
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )

    from webapp import config

    config.load_config(app, test_config)

    from webapp import (
        database,
        errors,
        health,
        jsonprovider,
        models,
        outbox,
        proxies,
        security,
        staff_pages,
        templating,
    )
    from webapp.extensions import csrf, db, login_manager, migrate

    database.configure_engines(app)
    db.init_app(app)
    assert models.__all__  # the tables are registered with the metadata before migrations
    database.init_app(app)
    jsonprovider.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    proxies.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    outbox.init_app(app)

    from webapp import organisation

    organisation.init_app(app)

    from webapp import alerts, cli
    from webapp.api import bp as api_bp
    from webapp.audit import bp as audit_bp
    from webapp.auth import bp as auth_bp
    from webapp.insights import bp as insights_bp
    from webapp.links import bp as links_bp
    from webapp.live import bp as live_bp
    from webapp.sandbox import bp as sandbox_bp
    from webapp.savedviews import bp as savedviews_bp
    from webapp.tracking import bp as tracking_bp
    from webapp.webhooks import bp as webhooks_bp

    app.register_blueprint(health.bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(links_bp)
    app.register_blueprint(tracking_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(live_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(sandbox_bp)
    app.register_blueprint(audit_bp)  # issue 12 §4: the audit log
    alerts.init_app(app)  # issue 12 §6: the silence alarm
    app.register_blueprint(organisation.bp)
    app.register_blueprint(insights_bp)  # issue 11: outcomes
    app.register_blueprint(savedviews_bp)
    cli.init_app(app)

    from webapp import mail, outbound
    from webapp.sandbox import outbox as sandbox_outbox

    sandbox_outbox.init_app(app)  # senders of the outbox, one per kind of message
    outbound.init_app(app)
    mail.init_app(app)

    from webapp import retention

    retention.init_app(app)  # issue 12 §5: the daily purge, erasure, their commands
    staff_pages.init_app(app)  # after every route: reads the public/sessionless marks
    return app
