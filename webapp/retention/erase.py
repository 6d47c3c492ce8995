"""Erasing one invitee: their email and name leave every Scheduling Request, raw payload,
search term, sandbox booking and outbound message; counts stay.

Found by email, without regard to case. Their names are the display names beside that email
in requests' recipients and the names on sandbox bookings with it. Then, batch by batch
(each batch its own short write transaction):
- requests that name them: the recipient keeps its place as ERASED_NAME with no email, other
  fields have the email and names replaced, captured answers are dropped where they are a
  recipient (the answers are theirs), and the search terms are rebuilt;
- deliveries of those requests, and any other whose body has the email: the body is
  rewritten the same way. Its body_sha256 stays: a hash of the whole original body says
  nothing without it, and it still turns away a late retry of that body;
- sandbox bookings with the email: name, email, phone and notes emptied;
- outbox messages whose body (an email's decoded text included) has the email, or a name
  and one of those requests: body, headers, error and attempt responses rewritten. One
  still waiting whose body carries a signature made at queue time (the sandbox's) is
  given up instead, since the rewritten body would no longer match it.
Then one audit entry, which names no one (see `erase`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update

from webapp.audit import actions
from webapp.audit.log import FROM_REQUEST, Actor, Target, record
from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import (
    Delivery,
    OutboxAttempt,
    OutboxMessage,
    SandboxBooking,
    SchedulingRequest,
    utcnow,
)
from webapp.models.search_terms import refresh_search_terms, search_fields
from webapp.retention.scrub import (
    ERASED_NAME,
    Invitee,
    body_text,
    mentions,
    scrub_body,
    scrub_json,
    scrub_text,
)

BATCH_SIZE = 200
MAX_EMAIL = 254
CANCELLED = "Cancelled: the invitee it named was erased."
SIGNATURE_WORDS = ("signature", "hmac")


class InvalidEmail(ValueError):
    """Not an email address."""


@dataclass
class ErasureReport:
    """What an erasure changed, by kind (rows rewritten; nothing is deleted)."""

    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("requests", "payloads", "sandbox_bookings", "outbound_messages", "cancelled"), 0
        )
    )

    @property
    def found(self) -> bool:
        return any(self.counts.values())


@dataclass(frozen=True)
class Found:
    invitee: Invitee
    requests: dict[int, str]  # pk -> scheduling_request_id, every request that names them
    recipient_of: frozenset[int]  # the pks of those where they are a recipient
    markers: tuple[str, ...]  # request ids and correlation IDs: how a message names a request
    names: tuple[str, ...]  # as found, for people to read


def normalise_email(email: str) -> str:
    address = (email or "").strip().lower()
    if "@" not in address or len(address) > MAX_EMAIL or any(c.isspace() for c in address):
        raise InvalidEmail(f"{email!r} is not an email address")
    return address


def _batches(model: Any, columns: list[Any]) -> Iterator[list[Any]]:
    """Rows of `model` (these columns, id first) in id order, BATCH_SIZE at a time; the read
    transaction ends after each batch, so nothing is held between them."""
    after = 0
    while True:
        rows = db.session.execute(
            select(model.id, *columns).where(model.id > after).order_by(model.id).limit(BATCH_SIZE)
        ).all()
        db.session.commit()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def find(email: str) -> Found:
    """Every request that names the email, and the names found beside it."""
    address = normalise_email(email)
    probe = Invitee.of(address)
    names: set[str] = set()
    answers: set[str] = set()
    requests: dict[int, str] = {}
    recipient_of: set[int] = set()
    markers: set[str] = set()
    columns = [
        SchedulingRequest.scheduling_request_id,
        SchedulingRequest.correlation_id,
        SchedulingRequest.recipients,
        SchedulingRequest.summary,
        SchedulingRequest.captured_data,
        SchedulingRequest.recipient_operations,
    ]
    for rows in _batches(SchedulingRequest, columns):
        for pk, srq_id, correlation_id, recipients, summary, captured, operations in rows:
            people = [r for r in recipients or [] if isinstance(r, dict)]
            theirs = [r for r in people if probe.has_email(r.get("email"))]
            names.update(str(r.get("display_name") or "") for r in theirs)
            if theirs:
                recipient_of.add(pk)
                answers.update(str(v) for v in (captured or {}).values() if v is not None)
            text = json.dumps([recipients, summary, captured, operations], ensure_ascii=False)
            if theirs or mentions(text, probe):
                requests[pk] = srq_id
                markers.update(value for value in (srq_id, correlation_id) if value)
    names.update(
        db.session.scalars(
            select(SandboxBooking.name).where(func.lower(SandboxBooking.email) == address)
        )
    )
    db.session.commit()
    names.discard("")
    return Found(
        Invitee.of(address, names, answers),
        requests,
        frozenset(recipient_of),
        tuple(sorted(markers)),
        tuple(sorted(names)),
    )


def erase(
    email: str, *, actor: Actor = FROM_REQUEST, from_request: str | None = None
) -> ErasureReport:
    """Erase the invitee with this email everywhere (see the module's notes); InvalidEmail.

    The audit entry records who erased, when, from which request page (if any) and the
    counts, but not the email or a hash of it: the audit log is append-only, so whatever it
    holds can never be erased, and a hash of an email is still personal data (anyone who
    knows the address can recompute it)."""
    found = find(email)
    report = ErasureReport()
    now = utcnow()
    report.counts["requests"] = _erase_requests(found)
    report.counts["payloads"] = _rewrite(Delivery, _delivery_columns(), _delivery_change(found))
    report.counts["sandbox_bookings"] = _erase_bookings(found.invitee)
    rewritten, cancelled = _erase_messages(found, now)
    report.counts["outbound_messages"] = rewritten
    report.counts["cancelled"] = cancelled
    changes: dict[str, Any] = dict(report.counts)
    if from_request:
        changes["from_request"] = from_request
    with write_transaction():
        record(
            actions.INVITEE_ERASED,
            Target(actions.TARGET_INVITEE, None, "an invitee"),
            changes,
            actor=actor,
        )
    return report


def _erase_requests(found: Found) -> int:
    pks = sorted(found.requests)
    for start in range(0, len(pks), BATCH_SIZE):
        with write_transaction():
            for request in db.session.scalars(
                select(SchedulingRequest).where(
                    SchedulingRequest.id.in_(pks[start : start + BATCH_SIZE])
                )
            ):
                _erase_request(request, found)
    return len(pks)


def _erase_request(request: SchedulingRequest, found: Found) -> None:
    invitee = found.invitee
    request.recipients = scrub_json(request.recipients or [], invitee)
    request.summary = scrub_text(request.summary, invitee) if request.summary else request.summary
    request.recipient_operations = scrub_json(request.recipient_operations or {}, invitee)
    request.utm = scrub_json(request.utm or {}, invitee)
    if request.dashboard_url:
        request.dashboard_url = scrub_text(request.dashboard_url, invitee)
    if request.id in found.recipient_of:
        request.captured_data = {}  # their own answers on the booking form
    else:
        request.captured_data = scrub_json(request.captured_data or {}, invitee)
    db.session.flush()
    refresh_search_terms(db.session, request.id, search_fields(request))


def _delivery_columns() -> list[Any]:
    return [Delivery.scheduling_request_id, Delivery.body, Delivery.error]


def _delivery_change(found: Found) -> Callable[[Any], dict[str, Any] | None]:
    theirs = {srq for pk, srq in found.requests.items() if pk in found.recipient_of}
    named = set(found.requests.values())
    email = found.invitee.email

    def change(row: Any) -> dict[str, Any] | None:
        _, srq_id, body, error = row
        body = bytes(body or b"")
        if srq_id not in named and email not in body_text(body).lower():
            return None
        values: dict[str, Any] = {}
        cleaned = scrub_body(body, found.invitee, drop_captured=srq_id in theirs)
        if cleaned != body:
            values["body"] = cleaned
        if error and (new_error := scrub_text(error, found.invitee)) != error:
            values["error"] = new_error
        return values or None

    return change


def _rewrite(model: Any, columns: list[Any], change: Callable[[Any], dict[str, Any] | None]) -> int:
    """Scan `model` in batches; write each row `change` has new values for. How many."""
    changed = 0
    for rows in _batches(model, columns):
        updates = {row[0]: values for row in rows if (values := change(row))}
        if updates:
            with write_transaction():
                for pk, values in updates.items():
                    db.session.execute(update(model).where(model.id == pk).values(**values))
            changed += len(updates)
    return changed


def _erase_bookings(invitee: Invitee) -> int:
    with write_transaction():
        result = db.session.execute(
            update(SandboxBooking)
            .where(func.lower(SandboxBooking.email) == invitee.email)
            .values(name=ERASED_NAME, email="", phone_number="", notes="")
            .execution_options(synchronize_session=False)
        )
        for booking in db.session.scalars(
            select(SandboxBooking).where(SandboxBooking.summary != "")
        ):
            if mentions(booking.summary, invitee):
                booking.summary = scrub_text(booking.summary, invitee)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _names_request(text: str, found: Found) -> bool:
    lowered = text.lower()
    if found.invitee.email in lowered:
        return True
    return mentions(text, found.invitee) and any(m.lower() in lowered for m in found.markers)


def _erase_messages(found: Found, now: Any) -> tuple[int, int]:
    invitee = found.invitee
    rewritten = cancelled = 0
    columns = [OutboxMessage.body]
    for rows in _batches(OutboxMessage, columns):
        hits = [pk for pk, body in rows if _names_request(body_text(bytes(body or b"")), found)]
        if not hits:
            continue
        with write_transaction():
            for message in db.session.scalars(
                select(OutboxMessage).where(OutboxMessage.id.in_(hits))
            ):
                message.body = scrub_body(bytes(message.body), invitee, drop_captured=True)
                message.headers = scrub_json(dict(message.headers or {}), invitee)
                if message.last_error:
                    message.last_error = scrub_text(message.last_error, invitee)
                if message.state not in ("delivered", "gave_up") and _signed(message.headers):
                    message.gave_up_at = now
                    message.last_error = CANCELLED
                    cancelled += 1
                for attempt in db.session.scalars(
                    select(OutboxAttempt).where(OutboxAttempt.message_pk == message.id)
                ):
                    attempt.response = scrub_text(attempt.response or "", invitee)
                    if attempt.error:
                        attempt.error = scrub_text(attempt.error, invitee)
                rewritten += 1
    return rewritten, cancelled


def _signed(headers: dict[str, Any]) -> bool:
    return any(word in str(name).lower() for name in headers for word in SIGNATURE_WORDS)
