"""Staff accounts: sign-in, users, API tokens (pages on `bp`, services beside them)."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from webapp.auth import account_views, users_views, views  # noqa: E402, F401  (routes on bp)
