"""The Cronofy receiver (POST /webhooks/cronofy), its admin pages (on `bp`) and services."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__)

from webapp.webhooks import event_log, views  # noqa: E402, F401  (routes on bp)
