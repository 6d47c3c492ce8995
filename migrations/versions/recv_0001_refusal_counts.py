"""refused deliveries counted per minute and reason

Revision ID: recv0001
Revises: shell0001
Create Date: 2026-12-01 10:00:00

A refused receiver hit no longer costs a row of its own: refusals are counted in memory and
written as one row per minute and reason (count, latest time and client address). Existing
rows are folded into that shape.
"""

from collections import defaultdict

from alembic import op
import sqlalchemy as sa

import webapp.models.types


# revision identifiers, used by Alembic.
revision = "recv0001"
down_revision = "shell0001"
branch_labels = None
depends_on = None

_UTC = webapp.models.types.UTCDateTime(timezone=True)


def _table():
    return sa.table(
        "refused_deliveries",
        sa.column("id", sa.Integer()),
        sa.column("at", _UTC),
        sa.column("reason", sa.String()),
        sa.column("client_address", sa.String()),
        sa.column("count", sa.Integer()),
        sa.column("last_at", _UTC),
    )


def upgrade():
    connection = op.get_bind()
    old = sa.table(
        "refused_deliveries",
        sa.column("at", _UTC),
        sa.column("reason", sa.String()),
        sa.column("client_address", sa.String()),
    )
    rows = connection.execute(sa.select(old.c.at, old.c.reason, old.c.client_address)).all()
    minutes = defaultdict(lambda: {"count": 0, "last_at": None, "client_address": ""})
    for at, reason, address in rows:
        entry = minutes[(at.replace(second=0, microsecond=0), reason)]
        entry["count"] += 1
        if entry["last_at"] is None or at >= entry["last_at"]:
            entry["last_at"], entry["client_address"] = at, address
    connection.execute(sa.delete(old))

    with op.batch_alter_table("refused_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_refused_deliveries_at")
        batch_op.add_column(sa.Column("count", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("last_at", _UTC, nullable=False))
    with op.batch_alter_table("refused_deliveries", schema=None) as batch_op:
        batch_op.alter_column("count", server_default=None)
        batch_op.create_index("ix_refused_deliveries_at_reason", ["at", "reason"], unique=True)
        batch_op.create_index("ix_refused_deliveries_last_at", ["last_at"], unique=False)

    if minutes:
        op.bulk_insert(
            _table(),
            [{"at": at, "reason": reason, **entry} for (at, reason), entry in minutes.items()],
        )


def downgrade():
    with op.batch_alter_table("refused_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_refused_deliveries_last_at")
        batch_op.drop_index("ix_refused_deliveries_at_reason")
        batch_op.drop_column("last_at")
        batch_op.drop_column("count")
        batch_op.create_index("ix_refused_deliveries_at", ["at"], unique=False)
