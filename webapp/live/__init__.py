"""The live Scheduling Requests table, its SSE stream, export and detail pages (on `bp`)."""

from flask import Blueprint

bp = Blueprint("live", __name__)

from webapp.live import views  # noqa: E402, F401  (routes on bp)
