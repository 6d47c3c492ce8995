"""The live table's Server-Sent Events stream: poll the Delivery feed, send changed rows.

Wire format as CTFd writes it: an initial `retry:` and `: ping` comment, a comment
keep-alive at least every SSE_HEARTBEAT seconds, multi-line data split over `data:` lines,
and an end after SSE_MAX_DURATION so that the browser reconnects (with Last-Event-ID) and
no worker thread is held for ever. The generator takes its clock and sleep as arguments so
tests drive it with `next()` and a fake clock.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from flask import has_app_context
from sqlalchemy import ColumnElement, Row, func, or_, select

from webapp import wakeups
from webapp.extensions import db
from webapp.live.fanout import shared_reads, shared_rows
from webapp.live.feed import DEFAULT_GRACE, FeedCursor, Unseen
from webapp.live.queries import RequestFilters, matching_ids
from webapp.models import DELIVERY_PENDING, Delivery, SchedulingRequest, utcnow
from webapp.pagination import InvalidCursor

BATCH = 500
RETRY_MILLISECONDS = 1000  # a stream ending at SSE_MAX_DURATION resumes at once
# A delivery still pending after this long is stuck, not in flight: the page's starting
# cursor does not wait for it (the stream would skip it after its grace period anyway).
IN_FLIGHT = timedelta(minutes=1)
# The largest id a BIGINT holds, and its digit count: no delivery id is beyond it.
MAX_DELIVERY_ID = 2**63 - 1
MAX_CURSOR_DIGITS = len(str(MAX_DELIVERY_ID))
WATCH_AT_START = 100  # pending deliveries below a starting cursor, newest first
# However often changes are announced, a stream polls at most every MIN_POLL_GAP seconds,
# plus POLL_GAP_PER_STREAM for each other stream waiting in its process (at most every
# poll interval): with many streams open, busy ones poll as often as without wake-ups.
MIN_POLL_GAP = 0.05
POLL_GAP_PER_STREAM = 0.02


@dataclass(frozen=True)
class StreamSettings:
    poll_interval: float
    heartbeat: float
    max_duration: float
    grace: float = DEFAULT_GRACE

    @classmethod
    def from_config(cls, config: dict) -> StreamSettings:  # type: ignore[type-arg]
        return cls(
            poll_interval=float(config["SSE_POLL_INTERVAL"]),
            heartbeat=float(config["SSE_HEARTBEAT"]),
            max_duration=float(config["SSE_MAX_DURATION"]),
            grace=float(config.get("SSE_GAP_GRACE", DEFAULT_GRACE)),
        )


def sse_message(data: str = "", event: str | None = None, event_id: int | None = None) -> str:
    """One SSE message; every line of `data` gets its own `data:` prefix."""
    lines = []
    if event:
        lines.append(f"event: {event}")
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.extend(f"data: {line}" for line in data.splitlines() or [""])
    return "\n".join(lines) + "\n\n"


def sse_comment(text: str) -> str:
    return f": {text}\n\n"


def start_cursor() -> int:
    """A feed position for a page being rendered now: every delivery <= it is handled.

    The highest delivery id, held back below any delivery still in flight (pending and
    recent), so that the page's first stream connection misses nothing between render
    and connect.
    """
    highest = _highest_delivery_id()
    in_flight = db.session.execute(
        select(func.min(Delivery.id)).where(
            Delivery.status == DELIVERY_PENDING, Delivery.received_at >= utcnow() - IN_FLIGHT
        )
    ).scalar()
    return highest if in_flight is None else min(highest, in_flight - 1)


def _highest_delivery_id() -> int:
    return db.session.execute(select(func.max(Delivery.id))).scalar() or 0


def resume_cursor(requested: int | None) -> int:
    """Where a stream starts: the client's cursor, or now when it has none.

    A cursor beyond the newest delivery (a database restored from backup, an edited URL)
    would wait for ids that may never come, so it also starts from now.
    """
    if requested is None or requested > _highest_delivery_id():
        return start_cursor()
    return requested


def parse_cursor(*candidates: str | None) -> int | None:
    """The first candidate given (Last-Event-ID, then ?cursor=) as a delivery id, or None.

    Both are client input. A value that is not a plain ASCII whole number a database id can
    hold raises InvalidCursor: str.isdigit() accepts "²" and other digits int() refuses,
    and int() refuses strings past 4,300 digits.
    """
    for value in candidates:
        if value is None or not value.strip():
            continue
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > MAX_CURSOR_DIGITS:
            raise InvalidCursor("cursor is not valid")
        number = int(text)
        if number > MAX_DELIVERY_ID:
            raise InvalidCursor("cursor is not valid")
        return number
    return None


def _handled(condition: ColumnElement[bool]) -> list[Row[tuple[int, int | None]]]:
    """Handled (not pending) deliveries meeting condition, with their request's pk."""
    return list(
        db.session.execute(
            select(Delivery.id, SchedulingRequest.id)
            .outerjoin(
                SchedulingRequest,
                SchedulingRequest.scheduling_request_id == Delivery.scheduling_request_id,
            )
            .where(condition, Delivery.status != DELIVERY_PENDING)
            .order_by(Delivery.id)
            .limit(BATCH)
        ).all()
    )


def _handled_deliveries(unseen: Unseen, watched: frozenset[int]) -> list[tuple[int, int | None]]:
    """(delivery id, request pk) of the handled deliveries a cursor has not emitted yet,
    the watched ones (applied after the cursor gave up waiting for them) first."""
    if unseen.holes:
        condition = or_(Delivery.id > unseen.above, Delivery.id.in_(unseen.holes))
    else:
        condition = Delivery.id > unseen.above
    handled = _handled(condition)
    if watched:
        handled = _handled(Delivery.id.in_(watched)) + handled
    return [(delivery_id, request_id) for delivery_id, request_id in handled]


def _poll(feed: FeedCursor, filters: RequestFilters, now: float) -> list[str]:
    """One look at the feed: the messages to send, oldest change first."""
    unseen, watched = feed.unseen(), feed.watched
    generation = wakeups.changes().generation
    handled = shared_reads().get(
        ("handled", unseen, watched, generation), lambda: _handled_deliveries(unseen, watched)
    )
    request_of = {delivery_id: request_id for delivery_id, request_id in handled}
    newest: dict[int, int] = {}  # request pk -> the newest of its fresh deliveries
    for delivery_id in feed.observe(request_of, now):
        if (request_id := request_of[delivery_id]) is not None:
            newest[request_id] = max(delivery_id, newest.get(request_id, 0))
    before = feed.low
    after = feed.advance(now)
    if feed.given_up:
        # A hole that is a stored delivery (pending: applying it failed or was slow) gets
        # applied later; watch it so that its change is still sent. Without this, a delivery
        # applied more than `grace` seconds after it was stored never reached open streams
        # (tests/reliability/test_live_streams.py, ..._applied_after_the_gap_grace_...).
        given_up = tuple(feed.given_up)
        feed.watch(
            shared_reads().get(("existing", given_up, generation), lambda: _existing(given_up))
        )

    rows = shared_rows(newest)  # loaded and rendered once per process, not per stream
    ids = [row.id for row in rows]
    if filters == RequestFilters():
        matching = set(ids)
    else:
        matching = shared_reads().get(
            ("matching", filters, tuple(ids), generation), lambda: matching_ids(filters, ids)
        )
    messages = []
    for position, row in enumerate(rows):
        payload = {"id": row.scheduling_request_id, "html": row.html, "matches": row.id in matching}
        # Only once the whole batch is out is `after` a safe place to resume from.
        last = position == len(rows) - 1
        messages.append(sse_message(json.dumps(payload), "row", after if last else before))
    if after != before and not rows:
        messages.append(sse_message(str(after), "cursor", after))
    return messages


# Set by gunicorn.conf.py when the worker is asked to stop: open streams end at their next
# poll (the browser reconnects to another worker) instead of holding a graceful shutdown
# for its whole timeout.
SHUTTING_DOWN = threading.Event()


def _existing(delivery_ids: Sequence[int]) -> list[int]:
    return list(
        db.session.execute(select(Delivery.id).where(Delivery.id.in_(delivery_ids))).scalars()
    )


def _pending_up_to(cursor: int) -> list[int]:
    """Deliveries at or below a starting cursor still pending: their change comes later."""
    return list(
        db.session.execute(
            select(Delivery.id)
            .where(Delivery.status == DELIVERY_PENDING, Delivery.id <= cursor)
            .order_by(Delivery.id.desc())
            .limit(WATCH_AT_START)
        ).scalars()
    )


def event_stream(
    filters: RequestFilters,
    cursor: int,
    settings: StreamSettings,
    *,
    still_signed_in: Callable[[], bool] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] | None = None,
    client_gone: Callable[[], bool] = lambda: False,
) -> Iterator[str]:
    """SSE text chunks for the changes after `cursor` that the filters' viewer may see.

    Must run inside an app context (and a request context, for url_for). It holds no ORM
    object across polls and ends the database transaction after each one, so new commits
    become visible and the pooled connection goes back to the pool between polls. When the
    session is signed out or revoked, or the user deactivated (`still_signed_in`, checked
    every heartbeat) the stream ends; so does it
    as soon as `client_gone()` says its client hung up (webapp/live/capacity.py), which
    frees its thread and its slot in seconds rather than at the next failed write.

    Between polls it waits for this process's applier to apply something
    (webapp/wakeups.py), at most `poll_interval`: the poll is the fallback for changes
    nobody in this process announced. Tests pass their own `sleep`.
    """
    if sleep is None:
        sleep = wakeups.Waiter(min_gap=MIN_POLL_GAP, gap_per_waiter=POLL_GAP_PER_STREAM)
    feed = FeedCursor(cursor, settings.grace)
    started = last_sent = clock()
    yield f"retry: {RETRY_MILLISECONDS}\n" + sse_comment("ping")
    try:
        # A reconnect resumes past holes the last connection gave up on: watch them anew.
        feed.watch(_pending_up_to(cursor))
        db.session.remove()
        while (
            clock() - started < settings.max_duration
            and not SHUTTING_DOWN.is_set()
            and not client_gone()
        ):
            try:
                messages = _poll(feed, filters, clock())
            finally:
                db.session.remove()
            for message in messages:
                yield message
                last_sent = clock()
            if clock() - last_sent >= settings.heartbeat:
                if still_signed_in is not None:
                    allowed = still_signed_in()
                    db.session.remove()
                    if not allowed:
                        return
                yield sse_comment("keep-alive")
                last_sent = clock()
            sleep(settings.poll_interval)
    finally:
        if has_app_context():  # not when a forgotten generator is garbage-collected
            db.session.remove()
