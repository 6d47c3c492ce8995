"""The reliability workload: signed notifications, resent duplicates, and the state they must
leave behind, computed here independently of the app.

Each Scheduling Request gets a few notifications with distinct `triggered_at` times and a
different type, summary, recipients, correlation ID and duration each, so that any ordering
mistake (an older notification applied over a newer one) changes the final state. The posts
are the notifications plus exact byte-for-byte resends, in shuffled order.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from webapp.webhooks.signatures import HEADER, sign

PREFIX = "scheduling_request_"
# Documented, sandbox-style and made-up types: an unknown type must be recorded and applied.
TYPES = (
    PREFIX + "time_chosen",
    PREFIX + "rescheduled",
    PREFIX + "declined",
    PREFIX + "reliability_mystery",
)
BASE_TIME = datetime(2025, 3, 1, tzinfo=UTC)


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


@dataclass(frozen=True)
class Scale:
    """The issue's numbers by default; smaller via RELIABILITY_* for quick local runs."""

    deliveries: int = 5000
    requests: int = 1000
    senders: int = 16
    duplicate_share: float = 0.2
    workers: int = 4
    threads: int = 32
    streams: int = 50
    send_limit: float = 150.0  # seconds for one load; each test must stay under ~3 minutes

    @classmethod
    def from_env(cls) -> Scale:
        return cls(
            deliveries=env_int("RELIABILITY_DELIVERIES", cls.deliveries),
            requests=env_int("RELIABILITY_REQUESTS", cls.requests),
            senders=env_int("RELIABILITY_SENDERS", cls.senders),
            duplicate_share=env_float("RELIABILITY_DUPLICATE_SHARE", cls.duplicate_share),
            workers=env_int("RELIABILITY_WORKERS", cls.workers),
            threads=env_int("RELIABILITY_THREADS", cls.threads),
            streams=env_int("RELIABILITY_STREAMS", cls.streams),
            send_limit=env_float("RELIABILITY_SEND_LIMIT", cls.send_limit),
        )


@dataclass(frozen=True)
class Note:
    """One distinct notification, as sent (body) and as it should read back."""

    scheduling_request_id: str
    type: str
    triggered_at: datetime
    summary: str
    emails: tuple[str, ...]
    correlation_id: str
    duration_minutes: int
    body: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True)
class Expected:
    """A request's state after applying its notifications in triggered_at order."""

    status: str
    summary: str
    emails: tuple[str, ...]
    correlation_id: str
    duration_minutes: int
    last_triggered_at: datetime
    notification_count: int


@dataclass
class Workload:
    notes: list[Note]
    posts: list[bytes]  # every body to send, duplicates included, in sending order
    seed: int

    @property
    def request_ids(self) -> set[str]:
        return {note.scheduling_request_id for note in self.notes}

    def expected(self) -> dict[str, Expected]:
        """Fold each request's notifications in triggered_at order: the last one wins."""
        by_request: dict[str, list[Note]] = {}
        for note in self.notes:
            by_request.setdefault(note.scheduling_request_id, []).append(note)
        result = {}
        for srq_id, notes in by_request.items():
            latest = max(notes, key=lambda note: note.triggered_at)
            result[srq_id] = Expected(
                status=latest.type.removeprefix(PREFIX),
                summary=latest.summary,
                emails=latest.emails,
                correlation_id=latest.correlation_id,
                duration_minutes=latest.duration_minutes,
                last_triggered_at=latest.triggered_at,
                notification_count=len(notes),
            )
        return result


def build_workload(scale: Scale, run: str, seed: int | None = None) -> Workload:
    """`scale.deliveries` posts for `scale.requests` requests, `duplicate_share` resends."""
    seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    duplicates = round(scale.deliveries * scale.duplicate_share)
    distinct = scale.deliveries - duplicates
    assert distinct >= scale.requests, "every request needs at least one notification"
    # One notification each, the rest spread at random: some requests get one, some many.
    counts = [1] * scale.requests
    for _ in range(distinct - scale.requests):
        counts[rng.randrange(scale.requests)] += 1
    notes = []
    for index, count in enumerate(counts):
        srq_id = f"srq_rel_{run}_{index:05d}"
        # Distinct seconds within a day: the payload's triggered_at has second resolution.
        offsets = rng.sample(range(86_400), count)
        for step, offset in enumerate(offsets):
            notes.append(_note(rng, srq_id, step, BASE_TIME + timedelta(seconds=offset)))
    posts = [note.body for note in notes] + [note.body for note in rng.choices(notes, k=duplicates)]
    rng.shuffle(posts)
    return Workload(notes=notes, posts=posts, seed=seed)


def _note(rng: random.Random, srq_id: str, step: int, triggered_at: datetime) -> Note:
    notification_type = rng.choice(TYPES)
    summary = f"Interview {srq_id} v{step} <{rng.randrange(10**6)}>"
    emails = tuple(
        f"invitee{step}.{n}.{rng.randrange(10**6)}@example.com" for n in range(rng.randint(1, 2))
    )
    correlation_id = f"corr-{srq_id}-{step}"
    duration = rng.choice((15, 30, 45, 60, 90))
    document: dict[str, Any] = {
        "notification": {
            "type": notification_type,
            "triggered_at": triggered_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "scheduling_request": {
            "scheduling_request_id": srq_id,
            "slot_selection": "complete",
            "summary": summary,
            "duration": {"minutes": duration},
            "recipients": [
                {"email": email, "display_name": email.split("@")[0], "slot_selector": True}
                for email in emails
            ],
            "event": {
                "summary": summary,
                "metadata": {"scheduler": {"correlation_id": correlation_id}},
            },
        },
    }
    body = json.dumps(document, separators=(",", ":")).encode()
    return Note(
        srq_id, notification_type, triggered_at, summary, emails, correlation_id, duration, body
    )


def signed_headers(body: bytes, client_secret: str) -> dict[str, str]:
    return {
        HEADER: sign(body, client_secret),
        "Content-Type": "application/json; charset=utf-8",
    }
