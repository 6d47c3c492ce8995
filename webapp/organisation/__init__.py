"""The organisation's profile: name, logo and contact address on the pages invitees see.

Admins set it in a section of the settings page; every template reads it as
`organisation` (loaded on first use in a request, so pages that do not show it pay nothing).
"""

from flask import Blueprint

bp = Blueprint("organisation", __name__)

from webapp.organisation import views  # noqa: E402, F401  (routes on bp)
from webapp.organisation.views import init_app  # noqa: E402

__all__ = ["bp", "init_app"]
