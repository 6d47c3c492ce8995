"""GET /healthz: 200 when the database answers, 503 when it does not."""

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from webapp.auth.access import public
from webapp.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():  # type: ignore[no-untyped-def]
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", error="database unreachable"), 503
    return jsonify(status="ok")
