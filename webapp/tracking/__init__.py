"""GET /l/<slug>: claim-token minting (pure) and the redirect view (on `bp`).

Sessionless (webapp/staff_pages.py): invitees are anonymous and the redirect has no forms,
so no cookie session, sign-in or CSRF check runs here (a state-changing route added to
this blueprint would be caught by tests/security/test_csrf.py).
"""

from flask import Blueprint

from webapp.auth.access import sessionless

bp = sessionless(Blueprint("tracking", __name__))

from webapp.tracking import views  # noqa: E402, F401  (routes on bp)
