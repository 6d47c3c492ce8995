"""Insights: how tracked links turn clicks into meetings (the page, its CSV; API in api/)."""

from flask import Blueprint

bp = Blueprint("insights", __name__)

from webapp.insights import views  # noqa: E402, F401  (routes on bp)
