"""one durable outbox, outbound webhook endpoints, email choices; sandbox_outbox moved in

Revision ID: outbound0001
Revises: audit0001
Create Date: 2026-12-01 10:00:00.000000

"""

import secrets

from alembic import op
import sqlalchemy as sa

import webapp.models.types


# revision identifiers, used by Alembic.
revision = "outbound0001"
down_revision = "audit0001"
branch_labels = None
depends_on = None

SANDBOX_HEADER = "Cronofy-HMAC-SHA256"
SANDBOX_CONTENT_TYPE = "application/json; charset=utf-8"


def upgrade():
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("target", sa.String(length=2000), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", webapp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", webapp.models.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", webapp.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "last_attempt_at", webapp.models.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("delivered_at", webapp.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("gave_up_at", webapp.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_messages_due",
            ["delivered_at", "gave_up_at", "next_attempt_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_outbox_messages_target", ["kind", "target_id", "id"], unique=False
        )

    op.create_table(
        "outbox_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_pk", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("at", webapp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["message_pk"], ["outbox_messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_attempts_message", ["message_pk", "number"], unique=False)

    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=True),
        sa.Column("previous_secret", sa.String(length=200), nullable=True),
        sa.Column(
            "previous_secret_until", webapp.models.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", webapp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", webapp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("failing_since", webapp.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("warned_at", webapp.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", webapp.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_on_booking", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "email_daily_digest", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "digest_sent_at", webapp.models.types.UTCDateTime(timezone=True), nullable=True
            )
        )

    _move_sandbox_outbox_in()
    with op.batch_alter_table("sandbox_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_sandbox_outbox_due")
        batch_op.drop_index(batch_op.f("ix_sandbox_outbox_booking_id"))
    op.drop_table("sandbox_outbox")


def _move_sandbox_outbox_in():
    """Every sandbox notification, sent or not, becomes an outbox message of kind sandbox."""
    connection = op.get_bind()
    old = sa.table(
        "sandbox_outbox",
        *(
            sa.column(name)
            for name in (
                "booking_id", "notification_type", "url", "body", "signature", "created_at",
                "attempts", "next_attempt_at", "delivered_at", "gave_up_at", "last_status",
                "last_error",
            )
        ),
    )
    rows = connection.execute(sa.select(old)).mappings().all()
    if not rows:
        return
    new = sa.table(
        "outbox_messages",
        *(
            sa.column(name)
            for name in (
                "message_id", "kind", "topic", "target_id", "target", "body", "created_at",
                "attempts", "failures", "next_attempt_at", "held", "delivered_at",
                "gave_up_at", "last_status", "last_error",
            )
        ),
        sa.column("headers", sa.JSON()),
    )
    connection.execute(
        new.insert(),
        [
            {
                "message_id": "msg_" + secrets.token_urlsafe(18),
                "kind": "sandbox",
                "topic": row["notification_type"],
                "target_id": row["booking_id"],
                "target": row["url"],
                "body": row["body"],
                "headers": {"Content-Type": SANDBOX_CONTENT_TYPE, SANDBOX_HEADER: row["signature"]},
                "created_at": row["created_at"],
                "attempts": row["attempts"],
                "failures": row["attempts"],
                "next_attempt_at": row["next_attempt_at"],
                "held": False,
                "delivered_at": row["delivered_at"],
                "gave_up_at": row["gave_up_at"],
                "last_status": row["last_status"],
                "last_error": row["last_error"],
            }
            for row in rows
        ],
    )


def downgrade():
    op.create_table(
        "sandbox_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("notification_type", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.String(length=500), nullable=False),
        sa.Column("created_at", webapp.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", webapp.models.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", webapp.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", webapp.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("gave_up_at", webapp.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["booking_id"], ["sandbox_bookings.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sandbox_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sandbox_outbox_booking_id"), ["booking_id"], unique=False
        )
        batch_op.create_index(
            "ix_sandbox_outbox_due", ["delivered_at", "next_attempt_at"], unique=False
        )
    # Unsent sandbox notifications go back; other kinds of message have nowhere to go.
    connection = op.get_bind()
    messages = sa.table(
        "outbox_messages",
        *(sa.column(n) for n in ("kind", "topic", "target_id", "target", "body", "created_at",
                                 "attempts", "next_attempt_at", "delivered_at", "gave_up_at",
                                 "last_status", "last_error")),
        sa.column("headers", sa.JSON()),
    )
    rows = connection.execute(
        sa.select(messages).where(messages.c.kind == "sandbox")
    ).mappings().all()
    if rows:
        old = sa.table(
            "sandbox_outbox",
            *(sa.column(n) for n in ("booking_id", "notification_type", "url", "body",
                                     "signature", "created_at", "attempts", "next_attempt_at",
                                     "delivered_at", "gave_up_at", "last_status", "last_error")),
        )
        connection.execute(
            old.insert(),
            [
                {
                    "booking_id": row["target_id"],
                    "notification_type": row["topic"],
                    "url": row["target"],
                    "body": row["body"],
                    "signature": (row["headers"] or {}).get(SANDBOX_HEADER, ""),
                    "created_at": row["created_at"],
                    "attempts": row["attempts"],
                    "next_attempt_at": row["next_attempt_at"],
                    "delivered_at": row["delivered_at"],
                    "gave_up_at": row["gave_up_at"],
                    "last_status": row["last_status"],
                    "last_error": row["last_error"],
                }
                for row in rows
            ],
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("digest_sent_at")
        batch_op.drop_column("email_daily_digest")
        batch_op.drop_column("email_on_booking")
    op.drop_table("webhook_endpoints")
    with op.batch_alter_table("outbox_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_attempts_message")
    op.drop_table("outbox_attempts")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_messages_target")
        batch_op.drop_index("ix_outbox_messages_due")
    op.drop_table("outbox_messages")
