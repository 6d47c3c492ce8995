"""SQL pieces the figures need on SQLite and PostgreSQL alike.

`epoch_seconds`: seconds since 1970 of a timestamp (a difference of two is a duration):
SQLite keeps datetimes as text (julianday reads it), PostgreSQL has EXTRACT(EPOCH).
`bucket`: which of a few consecutive intervals a timestamp falls in, as a balanced tree of
CASE comparisons: a local day in any zone (DST and half-hour offsets included) costs
about log2(days) comparisons per row, where a dialect's date functions could only do UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, case, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from webapp.models import UTCDateTime


class epoch_seconds(FunctionElement[float]):  # noqa: N801  (an SQL function's name)
    type = Float()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    inner = compiler.process(element.clauses, **kw)
    return f"((julianday({inner}) - 2440587.5) * 86400.0)"


@compiles(epoch_seconds)
def _epoch_default(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


def bucket(column: ColumnElement[Any], edges: Sequence[datetime]) -> ColumnElement[int]:
    """The index i of the interval [edges[i], edges[i+1]) the column falls in, for a column
    already known to lie within [edges[0], edges[-1])."""
    count = len(edges) - 1
    if count < 1:
        raise ValueError("at least one interval")

    def between(low: int, high: int) -> ColumnElement[int]:
        if high - low == 1:
            return literal(low)
        middle = (low + high) // 2
        return case(
            (column < literal(edges[middle], UTCDateTime()), between(low, middle)),
            else_=between(middle, high),
        )

    return between(0, count)
