"""API: the insights figures (docs/architecture.md), over whole UTC days.

`GET /api/v1/insights?group_by=public_link|owner|utm_campaign|utm_source|day` with optional
`from` and `to` (YYYY-MM-DD, both included; default the last 30 days) and the filters
`public_link_id`, `owner_id`, `utm_source`, `utm_medium`, `utm_campaign`.
"""

from __future__ import annotations

from datetime import UTC

from flask import request

from webapp.api import ApiError, bp
from webapp.insights import figures
from webapp.insights.ranges import InvalidQuery, parse_question
from webapp.insights.report import counts_json, item_json
from webapp.models import utcnow

API_NAMES = {"public_link": "public_link_id", "owner": "owner_id"}


@bp.get("/insights")
def insights():  # type: ignore[no-untyped-def]
    try:
        question = parse_question(request.args, now=utcnow(), zone=UTC, filter_names=API_NAMES)
    except InvalidQuery as invalid:
        raise ApiError(422, "Invalid query.", invalid.fields) from invalid
    totals = figures.totals(question)
    median = figures.median_seconds_to_book(question)
    return {
        "from": question.range.first.isoformat(),
        "to": question.range.last.isoformat(),
        "group_by": question.group_by,
        "totals": {
            **counts_json(totals),
            "median_seconds_to_book": None if median is None else round(median),
        },
        "items": [item_json(question, group) for group in figures.grouped(question)],
    }
