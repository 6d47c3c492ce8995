"""forget booked-redirect targets outside Cronofy's app

Revision ID: recv0002
Revises: recv0001
Create Date: 2026-12-01 10:05:00

A tracked link sends later clicks to its booking's page (booking_view_url), which a
notification's recipient_operations.view_url used to set from any http(s) host. From now on
only https pages on Cronofy's app hosts (or the sandbox's own pages) are taken. Stored values
that are not a page on Cronofy's app hosts are forgotten here, so the redirect never uses
one; that includes sandbox pages, since which origin the sandbox had is not known here (the
next sandbox notification sets them again). The rule is written out as of this revision:
migrations do not follow the code.
"""

from urllib.parse import urlsplit

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "recv0002"
down_revision = "recv0001"
branch_labels = None
depends_on = None

HOSTS = {"app.cronofy.com"} | {f"app-{dc}.cronofy.com" for dc in ("au", "ca", "de", "sg", "uk")}


def _acceptable(url):
    if not url.isascii() or "\\" in url or any(c <= " " or c == "\x7f" for c in url):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if "@" in parts.netloc or not parts.hostname:
        return False
    return parts.scheme == "https" and port is None and parts.hostname in HOSTS


def upgrade():
    connection = op.get_bind()
    links = sa.table(
        "tracked_links", sa.column("id", sa.Integer()), sa.column("booking_view_url", sa.String())
    )
    rows = connection.execute(
        sa.select(links.c.id, links.c.booking_view_url).where(
            links.c.booking_view_url.is_not(None)
        )
    ).all()
    bad = [key for key, url in rows if not _acceptable(url)]
    for start in range(0, len(bad), 500):
        connection.execute(
            sa.update(links)
            .where(links.c.id.in_(bad[start : start + 500]))
            .values(booking_view_url=None)
        )


def downgrade():
    pass  # the forgotten values were never safe to use
