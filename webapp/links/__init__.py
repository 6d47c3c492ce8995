"""Public Links and tracked links: pages on `bp`, services, validation, CSV."""

from flask import Blueprint

bp = Blueprint("links", __name__)

from webapp.links import csv_views, tracked_views, views  # noqa: E402, F401  (routes on bp)
