from flask import Blueprint

bp = Blueprint("live", __name__)


@bp.get("/")
def index():
    return "index"
