"""Retention and erasure (issue 12 §5): RETENTION_DAYS purges old raw payloads, visits and
outbound delivery logs once a day (purge.py, schedule.py); erasing one invitee removes their
email and name everywhere (erase.py, scrub.py). The CLI commands are in cli.py, the admin
action on a Scheduling Request's page in views.py."""

from __future__ import annotations

from flask import Blueprint, Flask

from webapp import outbox

bp = Blueprint("retention", __name__)


def init_app(app: Flask) -> None:
    from webapp.retention import cli, schedule

    outbox.register_tick(app, schedule.purge_on_tick)
    cli.register(app)
    app.register_blueprint(bp)


from webapp.retention import views  # noqa: E402, F401  (routes on bp)
