"""The outbox's rows: queue a message in the caller's transaction, claim due ones, record
each attempt, hold and release a target's messages, resend one.

Claims make several workers safe, in one process or many, on one server or several: on
PostgreSQL `SELECT ... FOR UPDATE SKIP LOCKED` hands each due row to exactly one claimer;
on SQLite a conditional UPDATE (only while the row is still unclaimed) does, under the
database's single write lock. A claim lasts CLAIM_SECONDS, longer than one batch of sends
takes; a worker that dies mid-send leaves its claim to lapse, and another worker sends the
message again then (at least once).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, or_, update

from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import OutboxAttempt, OutboxMessage, utcnow
from webapp.models.outbox import RESPONSE_EXCERPT_BYTES
from webapp.outbox.senders import Message, SendResult, registry

CLAIM_SECONDS = 120  # > BATCH_SIZE sends at their longest (see webapp/outbox/worker.py)
MAX_ERROR = 2000
WAKE_FLAG = "outbox.wake"


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def enqueue(
    kind: str,
    *,
    topic: str,
    target: str,
    body: bytes,
    target_id: int | None = None,
    headers: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    held: bool = False,
) -> OutboxMessage:
    """Add a message to the caller's open transaction; due at once (unless held).

    It is sent only if that transaction commits; the worker of this process is woken
    right after the commit."""
    now = now or utcnow()
    row = OutboxMessage(
        message_id=new_message_id(),
        kind=kind,
        topic=topic,
        target=target,
        target_id=target_id,
        body=body,
        headers=dict(headers or {}),
        created_at=now,
        next_attempt_at=now,
        held=held,
        attempts=0,
        failures=0,
    )
    db.session.add(row)
    db.session.info[WAKE_FLAG] = True
    return row


def pending():  # type: ignore[no-untyped-def]
    return and_(OutboxMessage.delivered_at.is_(None), OutboxMessage.gave_up_at.is_(None))


def unclaimed(now: datetime):  # type: ignore[no-untyped-def]
    return or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)


def _due(now: datetime, kinds: Iterable[str] | None) -> list[Any]:
    conditions = [
        pending(),
        OutboxMessage.held.is_(False),
        OutboxMessage.next_attempt_at <= now,
        unclaimed(now),
    ]
    if kinds is not None:
        conditions.append(OutboxMessage.kind.in_(list(kinds)))
    return conditions


def claim_due(
    now: datetime, worker: str, limit: int, *, kinds: Iterable[str] | None = None
) -> list[Message]:
    """Claim up to `limit` due messages for `worker` until now + CLAIM_SECONDS."""
    due = _due(now, kinds)
    order = (OutboxMessage.next_attempt_at, OutboxMessage.id)
    claim_until = now + timedelta(seconds=claim_seconds())
    # Look first with a plain read, so an idle round never takes SQLite's write lock.
    ids = db.session.scalars(db.select(OutboxMessage.id).where(*due).order_by(*order).limit(limit))
    ids = list(ids)
    db.session.commit()
    if not ids:
        return []
    claimed: list[Message] = []
    with write_transaction():
        if db.engine.dialect.name == "postgresql":
            ids = list(
                db.session.scalars(
                    db.select(OutboxMessage.id)
                    .where(*due)
                    .order_by(*order)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
        for row_id in ids:
            # Conditional: a worker that got there first makes this match no row.
            result = db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id, *due)
                .values(claimed_by=worker, claimed_until=claim_until)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                row = db.session.get(OutboxMessage, row_id, populate_existing=True)
                assert row is not None
                claimed.append(Message.of(row))
    return claimed


def claim_seconds() -> int:
    return int(current_app.config.get("OUTBOX_CLAIM_SECONDS", CLAIM_SECONDS))


def record(
    message: Message, worker: str, result: SendResult, now: datetime, duration_ms: int
) -> None:
    """Write what an attempt did, and when the next one is due, in one transaction."""
    sender = registry(current_app._get_current_object()).senders.get(message.kind)  # type: ignore[attr-defined]
    with write_transaction():
        row = db.session.get(OutboxMessage, message.pk, populate_existing=True)
        if row is None or row.claimed_by != worker or row.delivered_at is not None:
            return  # our claim lapsed and another worker owns the message now
        row.claimed_by = None
        row.claimed_until = None
        if result.hold:
            row.held = True
            return
        row.attempts += 1
        row.last_attempt_at = now
        row.last_status = result.status
        db.session.add(
            OutboxAttempt(
                message_pk=row.id,
                number=row.attempts,
                at=now,
                status=result.status,
                ok=result.ok,
                duration_ms=max(0, duration_ms),
                response=excerpt(result.response),
                error=None if result.ok else (result.error or result.describe())[:MAX_ERROR],
            )
        )
        if result.ok:
            row.delivered_at = now
            row.last_error = None
            row.failures = 0
        else:
            row.failures += 1
            row.last_error = (result.error or result.describe())[:MAX_ERROR]
            wait = None
            if sender is not None and not result.give_up:
                wait = sender.policy.wait_after(row.failures, now - row.created_at)
            if wait is None:
                row.gave_up_at = now
            else:
                row.next_attempt_at = now + wait
        if sender is not None and sender.on_result is not None:
            sender.on_result(row, result, now)


def excerpt(text: str) -> str:
    """The first RESPONSE_EXCERPT_BYTES of an answer, cut on a character boundary."""
    raw = (text or "").encode("utf-8", "replace")[:RESPONSE_EXCERPT_BYTES]
    return raw.decode("utf-8", "ignore")


def next_due(now: datetime, kinds: Iterable[str] | None = None) -> datetime | None:
    """When the next message falls due (a lapsing claim counts), or None: nothing pending."""
    extra = [OutboxMessage.kind.in_(list(kinds))] if kinds is not None else []
    waiting = db.session.scalar(
        db.select(func.min(OutboxMessage.next_attempt_at)).where(
            pending(), OutboxMessage.held.is_(False), unclaimed(now), *extra
        )
    )
    held = db.session.scalar(
        db.select(func.min(OutboxMessage.claimed_until)).where(
            pending(), OutboxMessage.claimed_until >= now, *extra
        )
    )
    db.session.commit()  # end the read transaction; the worker thread lives on
    candidates = [value for value in (waiting, held) if value is not None]
    return min(candidates) if candidates else None


def hold(kind: str, target_id: int) -> int:
    """Pause a target's pending messages (inside the caller's transaction); how many."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.kind == kind, OutboxMessage.target_id == target_id, pending())
        .values(held=True)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def release(kind: str, target_id: int, now: datetime) -> int:
    """Send a target's held messages again, at once, each with a fresh schedule (inside
    the caller's transaction); how many."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.kind == kind,
            OutboxMessage.target_id == target_id,
            OutboxMessage.held.is_(True),
            pending(),
        )
        .values(held=False, next_attempt_at=now, failures=0)
        .execution_options(synchronize_session=False)
    )
    db.session.info[WAKE_FLAG] = True
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def resend(row: OutboxMessage, now: datetime, *, held: bool = False) -> None:
    """Send a message again (same message id), delivered or given up or not (inside the
    caller's transaction)."""
    row.delivered_at = None
    row.gave_up_at = None
    row.failures = 0
    row.held = held
    row.next_attempt_at = now
    row.claimed_by = None
    row.claimed_until = None
    db.session.info[WAKE_FLAG] = True
