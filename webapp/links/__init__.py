"""Public Links and tracked links: pages on `bp`, services, validation, CSV."""

from flask import Blueprint

bp = Blueprint("links", __name__)

from webapp.links import (  # noqa: E402, F401  (routes on bp)
    bulk_views,
    csv_views,
    qr_views,
    tracked_views,
    views,
)
