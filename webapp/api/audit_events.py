"""API: GET /api/v1/audit-events (admin tokens only), read-only like the page."""

from __future__ import annotations

from flask import g, request

from webapp.api import ApiError, bp, list_response, page_limit
from webapp.audit import queries
from webapp.audit.present import entry_json
from webapp.pagination import InvalidCursor


@bp.get("/audit-events")
def list_audit_events():  # type: ignore[no-untyped-def]
    """Entries newest first; the page's filters as query parameters (`actor`, `action`,
    `target_type`, `from`, `to`, `q`), `limit` and `cursor`."""
    if not g.api_user.is_admin:
        raise ApiError(403, "The audit log is for admins: use an admin's API token.")
    parsed = queries.parse_filters(request.args)
    if parsed.errors:
        raise ApiError(422, "Invalid query.", parsed.errors)
    limit = page_limit()
    try:
        page = queries.page(parsed.filters, request.args.get("cursor") or None, limit)
    except InvalidCursor as error:
        raise ApiError(
            422, "Invalid query.", {"cursor": "not a cursor from this API; start without it"}
        ) from error
    return list_response([entry_json(entry) for entry in page.items], page.next_cursor)
