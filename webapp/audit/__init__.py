"""The audit log: recording (log.py, for every feature to call) and the admin page on `bp`.

Other packages record with `webapp.audit.log.record(...)`, the names in `actions.py` and
the targets in `subjects.py`; those modules depend on the models only.
"""

from flask import Blueprint

bp = Blueprint("audit", __name__)

from webapp.audit import views  # noqa: E402, F401  (routes on bp)
