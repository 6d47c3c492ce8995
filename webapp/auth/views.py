from flask import Blueprint

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    return "login"


@bp.post("/logout")
def logout():
    return "logout"


@bp.get("/users")
def users():
    return "users"


@bp.get("/tokens")
def tokens():
    return "tokens"
