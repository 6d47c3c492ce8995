"""Bulk creation of tracked links from a CSV: validate every row, then all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError

from webapp.audit import actions as audit_actions  # audit log (issue 12 §4)
from webapp.audit.log import created, record_many
from webapp.audit.subjects import tracked_link_fields, tracked_link_target
from webapp.database import write_transaction
from webapp.extensions import db
from webapp.links.csv_io import CsvFileError, CsvRow, read_bulk_csv
from webapp.links.inputs import InvalidInput, clean_tracked_link
from webapp.links.service import correlation_ids_in_use, new_slug
from webapp.links.validation import generate_correlation_id
from webapp.models import UTM_KEYS, PublicLink, TrackedLink, User
from webapp.outbound.events import emit_tracked_link_created


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


@dataclass(frozen=True)
class BulkCreated:
    header: list[str]  # the uploaded columns plus "url"
    rows: list[list[str]]


def import_tracked_links(
    user: User,
    public_link_id: int | None,
    raw: bytes | None,
    *,
    short_url: Callable[[str], str],
) -> BulkCreated:
    """Create one tracked link per CSV row, all in one transaction, or none.

    Every row is validated first with the same rules as a single link, plus duplicates
    within the file and against the database. Raises BulkRejected describing every
    problem; on success returns the rows back with their short URL (`short_url(slug)`).
    """
    fields = _public_link_errors(public_link_id)
    if raw is None:
        fields["file"] = "choose a CSV file to upload"
    if fields:
        raise BulkRejected(fields=fields)
    assert raw is not None and public_link_id is not None
    try:
        header, rows = read_bulk_csv(raw)
    except CsvFileError as error:
        raise BulkRejected(file_error=str(error)) from error

    cleaned, row_errors = _validate_rows(public_link_id, rows)
    if row_errors:
        raise BulkRejected(row_errors=row_errors, row_count=len(rows))

    links: list[TrackedLink] = []
    try:
        with write_transaction():
            for values in cleaned:
                values["correlation_id"] = values["correlation_id"] or generate_correlation_id()
                link = TrackedLink(slug=new_slug(), created_by_id=user.id, **values)
                links.append(link)
            db.session.add_all(links)
            db.session.flush()
            emit_tracked_link_created(links)  # outbound webhooks, in this transaction
            made = [(link.correlation_id, link.slug) for link in links]
            # Audit log: one entry per link, so each is found by its correlation ID.
            record_many(
                audit_actions.TRACKED_LINK_BULK_IMPORTED,
                ((tracked_link_target(link), created(tracked_link_fields(link))) for link in links),
                actor=user,
            )
    except IntegrityError as error:
        raise BulkRejected(
            file_error="While this file was being imported another request took one of its "
            "correlation IDs. Nothing was created; upload the file again to see which.",
            row_count=len(rows),
        ) from error

    out_header = [*header, "url"]
    out_rows = []
    for row, (correlation_id, slug) in zip(rows, made, strict=True):
        values = {**row.values, "correlation_id": correlation_id}
        out_rows.append([values[name] for name in header] + [short_url(slug)])
    return BulkCreated(out_header, out_rows)


def _public_link_errors(public_link_id: int | None) -> dict[str, str]:
    if public_link_id is None:
        return {"public_link_id": "choose a Public Link"}
    link = db.session.get(PublicLink, public_link_id)
    if link is None:
        return {"public_link_id": "no Public Link has this id"}
    if not link.active:
        return {"public_link_id": "this Public Link is deactivated; reactivate it first"}
    return {}


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
            messages += [f"{name}: {reason}" for name, reason in invalid.fields.items()]
            values = {}
        correlation_id = values.get("correlation_id")
        if correlation_id:
            if correlation_id in first_line:
                messages.append(
                    f"correlation_id: repeats line {first_line[correlation_id]} of this file"
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
            message = "correlation_id: another tracked link already uses it"
            if line in by_line:
                by_line[line].messages.append(message)
            else:
                by_line[line] = RowError(line, correlation_id, [message])
        errors = sorted(by_line.values(), key=lambda error: error.line)
    return cleaned, errors
