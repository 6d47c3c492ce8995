"""GET /l/<slug>: claim-token minting (pure) and the redirect view (on `bp`)."""

from flask import Blueprint

bp = Blueprint("tracking", __name__)

from webapp.tracking import views  # noqa: E402, F401  (routes on bp)
