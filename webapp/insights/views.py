"""The insights page and its CSV exports, in the viewer's time zone."""

from __future__ import annotations

from flask import Response, flash, render_template, request, url_for

from webapp.insights import bp, figures
from webapp.insights.ranges import GROUPS, InvalidQuery, Question, default_range, parse_question
from webapp.insights.ranges import Filters as InsightFilters
from webapp.insights.report import (
    CSV_HEADER,
    GROUP_TITLES,
    answer,
    conversion_text,
    csv_rows,
    duration_text,
    filter_choices,
)
from webapp.links.csv_io import csv_text
from webapp.localtime import viewer_zone
from webapp.models import utcnow

FIELD_WORDS = {
    "from": "From",
    "to": "To",
    "group_by": "Group by",
    "public_link": "Public Link",
    "owner": "Owner",
    "utm_source": "Source",
    "utm_medium": "Medium",
    "utm_campaign": "Campaign",
}


def _question() -> tuple[Question, dict[str, str]]:
    """The page's question; on bad input, the defaults and what was wrong, per field."""
    zone = viewer_zone()
    try:
        return parse_question(request.args, now=utcnow(), zone=zone), {}
    except InvalidQuery as invalid:
        fallback = Question(default_range(utcnow(), zone), InsightFilters(), "public_link")
        return fallback, invalid.fields


def _args(question: Question, **changes: str) -> dict[str, str]:
    args = {
        "from": question.range.first.isoformat(),
        "to": question.range.last.isoformat(),
        "group_by": question.group_by,
        **question.filters.args(),
        **changes,
    }
    return {key: value for key, value in args.items() if value}


@bp.get("/insights")
def index():  # type: ignore[no-untyped-def]
    question, errors = _question()
    for name, problem in errors.items():
        flash(
            f"{FIELD_WORDS.get(name, name)}: {problem}. Showing the last 30 days instead.",
            "warning",
        )
    report = answer(question)
    return render_template(
        "insights/index.html",
        report=report,
        question=question,
        values=request.args if errors else _args(question),
        errors=errors,
        groups=[
            (name, GROUP_TITLES[name], url_for("insights.index", **_args(question, group_by=name)))
            for name in GROUPS
        ],
        group_title=GROUP_TITLES[question.group_by],
        export_url=url_for("insights.export", **_args(question)),
        conversion_text=conversion_text,
        duration_text=duration_text,
        **filter_choices(),
    )


@bp.get("/insights/export.csv")
def export():  # type: ignore[no-untyped-def]
    question, errors = _question()
    if errors:
        return Response(
            "Bad query: " + "; ".join(f"{key}: {value}" for key, value in errors.items()) + "\n",
            422,
            mimetype="text/plain",
        )
    groups = figures.grouped(question)
    name = f"insights-{question.group_by}-{question.range.first}-{question.range.last}.csv"
    return Response(
        csv_text(CSV_HEADER, csv_rows(question, groups), excel=True),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
