"""retention: purged markers, purged visit counts, periodic runs

Revision ID: retain0001
Revises: auth0001
Create Date: 2026-12-02 09:00:00

RETENTION_DAYS (webapp/retention/) empties old delivery and outbox bodies, marking them
with purged_at, and deletes old visits after adding them to purged_visit_counts, so click
counts stay right. periodic_runs holds each periodic job's last run, claimed with a
conditional UPDATE so that the daily purge runs once across workers and servers.
"""

from alembic import op
import sqlalchemy as sa

import webapp.models.types


# revision identifiers, used by Alembic.
revision = "retain0001"
down_revision = "auth0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purged_at", webapp.models.types.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purged_at", webapp.models.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "purged_visit_counts",
        sa.Column("tracked_link_id", sa.Integer(), nullable=False),
        sa.Column("human_visits", sa.Integer(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tracked_link_id"], ["tracked_links.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tracked_link_id"),
    )
    op.create_table(
        "periodic_runs",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "last_started_at", webapp.models.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "last_finished_at", webapp.models.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade():
    op.drop_table("periodic_runs")
    op.drop_table("purged_visit_counts")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("purged_at")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("purged_at")
