"""GET /audit (admins): the audit log with filters and keyset pages; its CSV export.

Read-only on purpose: no route edits or deletes an entry.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, flash, redirect, render_template, request, stream_with_context, url_for

from webapp.audit import bp, queries
from webapp.audit.actions import ACTIONS, TARGET_TYPES, action_groups
from webapp.audit.present import CSV_HEADER, action_words, change_lines, csv_row, target_words
from webapp.auth.access import admin_required
from webapp.extensions import db
from webapp.links.csv_io import csv_lines
from webapp.listing import PageRequest, capped_count, fetch_window, make_pager
from webapp.models import AuditEvent
from webapp.pagination import InvalidCursor


def _parsed() -> queries.ParsedFilters:
    parsed = queries.parse_filters(request.args)
    for name, problem in parsed.errors.items():
        flash(f"Ignored the filter “{name}”: expected {problem}.", "warning")
    return parsed


def _entries(statement):  # type: ignore[no-untyped-def]
    return list(db.session.execute(statement).scalars())


@bp.get("/audit")
@admin_required
def audit_log():  # type: ignore[no-untyped-def]
    parsed = _parsed()
    args = parsed.args
    wanted = PageRequest.from_args(request.args)
    listed = queries.filtered(parsed.filters)
    try:
        window = fetch_window(listed, queries.KEYSET, wanted, _entries)
    except InvalidCursor:
        flash("That page link is not valid any more; showing the newest entries.", "warning")
        return redirect(url_for("audit.audit_log", **args))
    total = capped_count(listed.with_only_columns(AuditEvent.id))
    return render_template(
        "audit/index.html",
        entries=window.items,
        pager=make_pager(window, wanted, "audit.audit_log", args, total, "entries"),
        values=args,
        filtered=bool(args),
        first_page=wanted.is_first,
        actions=ACTIONS,
        groups=action_groups(),
        target_types=TARGET_TYPES,
        system_actor=queries.SYSTEM_ACTOR,
        change_lines=change_lines,
        action_words=action_words,
        target_words=target_words,
        export_url=url_for("audit.audit_export", **args),
    )


@bp.get("/audit/export.csv")
@admin_required
def audit_export():  # type: ignore[no-untyped-def]
    """Every entry the page's filters select (all pages), streamed; cells formula-safe."""
    filters = queries.parse_filters(request.args).filters  # the page already warned
    rows = (csv_row(entry) for entry in queries.iterate(filters))
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        stream_with_context(csv_lines(CSV_HEADER, rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-log-{stamp}.csv"'},
    )
