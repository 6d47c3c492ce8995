"""What a feature registers with the outbox: one sender per message kind.

The outbox knows nothing about webhooks, email or the sandbox; each feature registers a
sender for its kind at init_app, and the outbox calls it with a snapshot of the message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask

from webapp.models import OutboxMessage
from webapp.outbox.policy import DEFAULT_POLICY, RetryPolicy

EXTENSION = "webapp.outbox"


@dataclass(frozen=True)
class Message:
    """A claimed message as its sender sees it (no ORM object: the sender runs outside
    any transaction)."""

    pk: int
    message_id: str
    kind: str
    topic: str
    target_id: int | None
    target: str
    body: bytes
    headers: Mapping[str, Any]
    created_at: datetime
    attempt: int  # the number of this attempt, 1 for the first

    @classmethod
    def of(cls, row: OutboxMessage) -> Message:
        return cls(
            pk=row.id,
            message_id=row.message_id,
            kind=row.kind,
            topic=row.topic,
            target_id=row.target_id,
            target=row.target,
            body=bytes(row.body),
            headers=dict(row.headers or {}),
            created_at=row.created_at,
            attempt=row.attempts + 1,
        )


@dataclass(frozen=True)
class HttpAnswer:
    """What one HTTP POST got back; `status` is None when no answer came (`error` says why).
    The senders that POST (outbound webhooks, the sandbox's notifications) report this."""

    status: int | None
    body: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        if self.status is None:
            return f"no answer: {self.error}"
        return f"HTTP {self.status}"


@dataclass(frozen=True)
class SendResult:
    """What one attempt did. `hold`: not attempted, the target is paused (the message waits,
    held, until the feature releases it). `give_up`: failed for good, no retry can help."""

    ok: bool
    status: int | None = None
    response: str = ""
    error: str | None = None
    hold: bool = False
    give_up: bool = False

    def describe(self) -> str:
        if self.ok:
            return f"delivered ({self.status})" if self.status is not None else "delivered"
        if self.status is not None:
            return f"answered {self.status}" + (f": {self.error}" if self.error else "")
        return f"no answer: {self.error or 'unknown error'}"


SendFunction = Callable[[Message, datetime], SendResult]
# Called inside the transaction that records an attempt, with the message row (updated).
ResultHook = Callable[[OutboxMessage, SendResult, datetime], None]


@dataclass(frozen=True)
class Sender:
    kind: str
    send: SendFunction
    policy: RetryPolicy = DEFAULT_POLICY
    on_result: ResultHook | None = None


@dataclass
class Registry:
    """Per app: the senders by kind and the periodic jobs the worker runs."""

    senders: dict[str, Sender] = field(default_factory=dict)
    ticks: list[Callable[[datetime], None]] = field(default_factory=list)


def registry(app: Flask) -> Registry:
    found = app.extensions.get(EXTENSION)
    if found is None:
        found = app.extensions[EXTENSION] = Registry()
    return found


def register_sender(
    app: Flask,
    kind: str,
    send: SendFunction,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    on_result: ResultHook | None = None,
) -> None:
    """Make the outbox send messages of `kind` with `send` (call at init_app)."""
    registry(app).senders[kind] = Sender(kind, send, policy, on_result)


def register_tick(app: Flask, job: Callable[[datetime], None]) -> None:
    """A job the worker runs about once a minute (e.g. queuing the daily digests)."""
    registry(app).ticks.append(job)
