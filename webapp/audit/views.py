"""GET /audit (admins): the audit log with filters and keyset pages; its CSV export.

Read-only on purpose: no route edits or deletes an entry.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, flash, redirect, render_template, request, stream_with_context, url_for

from webapp.audit import bp, queries
from webapp.audit.actions import ACTIONS, TARGET_TYPES, action_groups
from webapp.audit.present import CSV_HEADER, change_lines, csv_row
from webapp.auth.access import admin_required
from webapp.links.csv_io import csv_lines
from webapp.pagination import InvalidCursor


def _parsed() -> queries.ParsedFilters:
    parsed = queries.parse_filters(request.args)
    for name, problem in parsed.errors.items():
        flash(f"Ignored the filter “{name}”: expected {problem}.", "warning")
    return parsed


@bp.get("/audit")
@admin_required
def audit_log():  # type: ignore[no-untyped-def]
    parsed = _parsed()
    cursor = request.args.get("cursor") or None
    try:
        page = queries.page(parsed.filters, cursor)
    except InvalidCursor:
        flash("That page link is not valid any more; showing the newest entries.", "warning")
        return redirect(url_for("audit.audit_log", **parsed.args))
    args = parsed.args
    return render_template(
        "audit/index.html",
        entries=page.items,
        values=args,
        filtered=bool(args),
        actions=ACTIONS,
        groups=action_groups(),
        target_types=TARGET_TYPES,
        system_actor=queries.SYSTEM_ACTOR,
        change_lines=change_lines,
        next_url=url_for("audit.audit_log", **args, cursor=page.next_cursor)
        if page.next_cursor
        else None,
        first_url=url_for("audit.audit_log", **args) if cursor else None,
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
