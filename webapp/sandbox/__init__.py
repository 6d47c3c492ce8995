"""The simulated Cronofy: booking pages on `bp` (under /sandbox), outbox, CLI."""

from flask import Blueprint

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

from webapp.sandbox import scheduler, views  # noqa: E402, F401  (routes on bp)
