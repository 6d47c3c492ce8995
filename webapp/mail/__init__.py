"""Email (MAIL_URL, MAIL_FROM): booking emails to link owners, the daily digest, admin
alerts; all through the outbox (sender kind "email"). The choices page is on `bp`."""

from __future__ import annotations

from flask import Blueprint, Flask

from webapp import outbox

bp = Blueprint("mail", __name__)


def init_app(app: Flask) -> None:
    from webapp.mail import compose, digest, smtp

    outbox.register_sender(app, compose.KIND, smtp.send)
    outbox.register_tick(app, digest.queue_due_digests)
    app.jinja_env.globals["mail_enabled"] = compose.enabled  # the account page's section
    app.register_blueprint(bp)


from webapp.mail import views  # noqa: E402, F401  (routes on bp)
