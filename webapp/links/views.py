from flask import Blueprint

bp = Blueprint("links", __name__)


@bp.get("/public-links")
def public_links():
    return "public links"


@bp.get("/links")
def tracked_links():
    return "tracked links"
