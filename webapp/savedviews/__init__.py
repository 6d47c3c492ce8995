"""Saved views: a person's named filters on the requests and tracked-links pages."""

from flask import Blueprint

bp = Blueprint("savedviews", __name__)

from webapp.savedviews import views  # noqa: E402, F401  (routes on bp)
