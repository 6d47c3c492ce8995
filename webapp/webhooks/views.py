from flask import Blueprint

bp = Blueprint("webhooks", __name__)


@bp.get("/settings")
def settings():
    return "settings"


@bp.get("/events")
def event_log():
    return "events"
