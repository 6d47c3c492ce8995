"""Bulk creation of tracked links from a CSV: validate every row, then all or nothing.

Each upload form carries an idempotency key, stored with the batch it creates: the same form
sent again (a double click, a resent POST) finds that batch and creates nothing. A browser
that goes back to the form may load it anew, with a new key; so the same person sending the
same file for the same Public Link again within REPEAT_WINDOW is the same upload too.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.audit import actions as audit_actions  # audit log (issue 12 §4)
from webapp.audit.log import created, record_many
from webapp.audit.subjects import tracked_link_fields, tracked_link_target
from webapp.database import write_transaction
from webapp.display import plural
from webapp.extensions import db
from webapp.links.csv_io import CsvFileError, CsvRow, read_bulk_csv
from webapp.links.inputs import InvalidInput, clean_tracked_link
from webapp.links.service import correlation_ids_in_use, new_slug
from webapp.links.validation import generate_correlation_id
from webapp.models import UTM_KEYS, LinkBatch, PublicLink, TrackedLink, User
from webapp.outbound.events import emit_tracked_link_created

IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
FIELD_WORDS = {
    "correlation_id": "Correlation ID",
    "label": "Label",
    **{f"utm.{key}": "UTM " + key.removeprefix("utm_") for key in UTM_KEYS},
}
TOO_LONG = re.compile(r"must be at most (\d+) characters \(this one has (\d+)\)")
MAX_FILENAME = 200
REPEAT_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class RowError:
    line: int
    correlation_id: str
    messages: list[str]


@dataclass
class BulkRejected(Exception):
    """Nothing was created. Either the form/file is wrong or some rows are (see row_errors)."""

    fields: dict[str, str] = field(default_factory=dict)  # the form's own fields
    file_error: str | None = None
    row_errors: list[RowError] = field(default_factory=list)
    row_count: int = 0

    @property
    def summary(self) -> str:
        """One sentence saying what to do, with the counts in words."""
        if self.file_error:
            return self.file_error
        if self.row_errors:
            wrong = len(self.row_errors)
            verb = "needs" if wrong == 1 else "need"
            return (
                f"{wrong:,} of {plural(self.row_count, 'row')} {verb} fixing; "
                "correct the file and upload it again."
            )
        return "Please correct the fields marked below."


@dataclass(frozen=True)
class BulkOutcome:
    batch_id: int
    created: bool  # False: this upload form was sent before; nothing new was made


def valid_key(key: str | None) -> bool:
    return bool(key) and IDEMPOTENCY_KEY.fullmatch(key or "") is not None


def import_tracked_links(
    user: User,
    public_link_id: int | None,
    raw: bytes | None,
    *,
    idempotency_key: str,
    now: datetime,
    filename: str = "",
) -> BulkOutcome:
    """Create one tracked link per CSV row, all in one transaction with their batch, or none.

    Every row is validated first with the same rules as a single link, plus duplicates
    within the file and against the database. Raises BulkRejected describing every
    problem. A key already used answers with that key's batch and creates nothing.
    """
    earlier = _batch_with_key(idempotency_key)
    if earlier is not None:
        return BulkOutcome(earlier, created=False)
    fields = _public_link_errors(public_link_id)
    if raw is None:
        fields["file"] = "Choose a CSV file to upload."
    if fields:
        raise BulkRejected(fields=fields)
    assert raw is not None and public_link_id is not None
    fingerprint = content_fingerprint(public_link_id, raw)
    repeated = _recent_batch_with_content(user.id, fingerprint, since=now - REPEAT_WINDOW)
    if repeated is not None:
        return BulkOutcome(repeated, created=False)
    try:
        header, rows = read_bulk_csv(raw)
    except CsvFileError as error:
        raise BulkRejected(file_error=str(error)) from error

    cleaned, row_errors = _validate_rows(public_link_id, rows)
    if row_errors:
        # The same form sent twice at once: the other request may have committed this key's
        # batch after the check above, and then its rows read here as taken. That upload
        # succeeded; answer with it rather than with errors about its own links.
        earlier = _batch_with_key(idempotency_key)
        if earlier is not None:
            return BulkOutcome(earlier, created=False)
        raise BulkRejected(row_errors=row_errors, row_count=len(rows))

    try:
        with write_transaction():
            batch = LinkBatch(
                idempotency_key=idempotency_key,
                public_link_id=public_link_id,
                created_by_id=user.id,
                filename=filename[:MAX_FILENAME],
                columns=",".join(header),
                content_sha256=fingerprint,
                link_count=len(cleaned),
                created_at=now,
            )
            db.session.add(batch)
            db.session.flush()
            links = []
            for values in cleaned:
                values["correlation_id"] = values["correlation_id"] or generate_correlation_id()
                links.append(
                    TrackedLink(slug=new_slug(), created_by_id=user.id, batch_id=batch.id, **values)
                )
            db.session.add_all(links)
            db.session.flush()
            emit_tracked_link_created(links)  # outbound webhooks, in this transaction
            # Audit log: one entry per link, so each is found by its correlation ID.
            record_many(
                audit_actions.TRACKED_LINK_BULK_IMPORTED,
                ((tracked_link_target(link), created(tracked_link_fields(link))) for link in links),
                actor=user,
            )
            batch_id = batch.id
    except IntegrityError as error:
        # Either the same form was sent twice at once (the key is taken: that batch is the
        # answer) or another request took one of the file's correlation IDs meanwhile.
        earlier = _batch_with_key(idempotency_key)
        if earlier is not None:
            return BulkOutcome(earlier, created=False)
        raise BulkRejected(
            file_error="While this file was being imported another request took one of its "
            "correlation IDs. Nothing was created; upload the file again to see which.",
            row_count=len(rows),
        ) from error
    return BulkOutcome(batch_id, created=True)


def content_fingerprint(public_link_id: int, raw: bytes) -> str:
    return hashlib.sha256(f"{public_link_id}:".encode() + raw).hexdigest()


def _recent_batch_with_content(user_id: int, fingerprint: str, since: datetime) -> int | None:
    found = db.session.execute(
        select(LinkBatch.id)
        .where(
            LinkBatch.created_by_id == user_id,
            LinkBatch.content_sha256 == fingerprint,
            LinkBatch.created_at >= since,
        )
        .order_by(LinkBatch.id.desc())
        .limit(1)
    )
    return found.scalar_one_or_none()


def _batch_with_key(key: str) -> int | None:
    found = db.session.execute(select(LinkBatch.id).where(LinkBatch.idempotency_key == key))
    return found.scalar_one_or_none()


def _public_link_errors(public_link_id: int | None) -> dict[str, str]:
    if public_link_id is None:
        return {"public_link_id": "Choose a Public Link."}
    link = db.session.get(PublicLink, public_link_id)
    if link is None:
        return {"public_link_id": "That Public Link does not exist any more; choose another."}
    if not link.active:
        return {"public_link_id": "This Public Link is deactivated; reactivate it first."}
    return {}


def in_words(name: str, reason: str) -> str:
    """'utm.utm_campaign', 'must be at most 128 characters (this one has 130)' ->
    'UTM campaign is longer than 128 characters (it has 130).'"""
    subject = FIELD_WORDS.get(name, name.replace("_", " ").capitalize())
    too_long = TOO_LONG.fullmatch(reason)
    if too_long:
        limit, length = too_long.groups()
        return f"{subject} is longer than {limit} characters (it has {length})."
    return f"{subject} {reason}."


def _validate_rows(
    public_link_id: int, rows: list[CsvRow]
) -> tuple[list[dict[str, Any]], list[RowError]]:
    cleaned: list[dict[str, Any]] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    for row in rows:
        messages = [row.error] if row.error else []
        data: dict[str, Any] = {
            "public_link_id": public_link_id,
            "correlation_id": row.values.get("correlation_id", ""),
            "label": row.values.get("label", ""),
            "utm": {key: row.values[key] for key in UTM_KEYS if key in row.values},
        }
        try:
            values = clean_tracked_link(data, partial=False)
        except InvalidInput as invalid:
            messages += [in_words(name, reason) for name, reason in invalid.fields.items()]
            values = {}
        correlation_id = values.get("correlation_id")
        if correlation_id:
            if correlation_id in first_line:
                messages.append(
                    f"Correlation ID repeats line {first_line[correlation_id]} of this file."
                )
            else:
                first_line[correlation_id] = row.line
        if messages:
            errors.append(RowError(row.line, row.values.get("correlation_id", ""), messages))
        cleaned.append(values)

    taken = correlation_ids_in_use(list(first_line))
    if taken:
        by_line = {error.line: error for error in errors}
        for correlation_id in taken:
            line = first_line[correlation_id]
            message = "Correlation ID is already used by another tracked link."
            if line in by_line:
                by_line[line].messages.append(message)
            else:
                by_line[line] = RowError(line, correlation_id, [message])
        errors = sorted(by_line.values(), key=lambda error: error.line)
    return cleaned, errors
