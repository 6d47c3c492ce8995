"""An endpoint's delivery log (every attempt, newest first, in keyset windows) and the
messages still waiting to be sent to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select

from webapp.extensions import db
from webapp.listing import one_column_keyset
from webapp.models import OutboxAttempt, OutboxMessage, WebhookEndpoint

WAITING_SHOWN = 50


@dataclass(frozen=True)
class LogLine:
    attempt: OutboxAttempt
    message: OutboxMessage


def log_statement(endpoint: WebhookEndpoint) -> Select[Any]:
    """The endpoint's attempts with their messages (the delivery log), in no order yet."""
    return (
        db.select(OutboxAttempt, OutboxMessage)
        .join(OutboxMessage, OutboxMessage.id == OutboxAttempt.message_pk)
        .where(OutboxMessage.kind == endpoint.kind, OutboxMessage.target_id == endpoint.id)
    )


def log_lines(statement: Select[Any]) -> list[LogLine]:
    return [LogLine(attempt, message) for attempt, message in db.session.execute(statement)]


# The delivery log's order (newest attempt first) and cursors, for webapp.listing's windows.
LOG_KEYSET = one_column_keyset(OutboxAttempt.id, lambda line: line.attempt.id, descending=True)


def waiting_messages(endpoint: WebhookEndpoint) -> list[OutboxMessage]:
    """Messages not delivered and not given up: queued, retrying or held."""
    return list(
        db.session.scalars(
            _messages_of(endpoint)
            .where(OutboxMessage.delivered_at.is_(None), OutboxMessage.gave_up_at.is_(None))
            .order_by(OutboxMessage.id)
            .limit(WAITING_SHOWN)
        )
    )


def _messages_of(endpoint: WebhookEndpoint) -> Select[Any]:
    return db.select(OutboxMessage).where(
        OutboxMessage.kind == endpoint.kind, OutboxMessage.target_id == endpoint.id
    )
