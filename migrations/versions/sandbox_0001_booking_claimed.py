"""sandbox bookings record whether a claim token came with them

A sandbox Public Link opened without a claim token still books, as on Cronofy, but such a
booking sends no notification; `claimed` says which kind a booking is.

Revision ID: sandbox0001
Revises: ac2842901cdf
Create Date: 2026-12-01 10:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "sandbox0001"
down_revision = "ac2842901cdf"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("sandbox_bookings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claimed", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade():
    with op.batch_alter_table("sandbox_bookings", schema=None) as batch_op:
        batch_op.drop_column("claimed")
