"""GET /healthz: 200 when the database answers, 503 when it does not.

It also says when the newest Cronofy notification arrived (`last_notification_at`,
ISO-8601 UTC or null), so a monitor can watch for silence too (webapp/alerts/silence.py).
"""

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from webapp.alerts.silence import last_notification_at
from webapp.auth.access import public
from webapp.extensions import db
from webapp.templating import iso_utc

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():  # type: ignore[no-untyped-def]
    try:
        db.session.execute(text("SELECT 1"))
        last = last_notification_at()
        db.session.rollback()
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(
            status="unavailable", error="database unreachable", last_notification_at=None
        ), 503
    return jsonify(status="ok", last_notification_at=iso_utc(last) or None)
