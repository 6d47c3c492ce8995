"""Hypothesis strategies for hostile input: any JSON value, time-like strings, HTML, and
mutated copies of Cronofy's documented notification."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.support.deliveries import example_payload
from webapp.pagination import encode_cursor

# Every fuzz test: no deadline (a loaded CI machine is slow, not wrong), no example database
# in the working tree, and fixtures built once per test function on purpose.
FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def fuzz(max_examples: int) -> settings:
    """The suite's fuzz settings with this many examples (sized to keep the folder quick)."""
    return settings(FUZZ, max_examples=max_examples)


HTML = "<script>alert(1)</script><img src=x onerror=alert(1)>"

offsets = st.one_of(
    st.just(UTC),
    st.builds(
        lambda minutes: timezone(timedelta(minutes=minutes)),
        st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1),
    ),
)
# ISO-8601-looking text, including the extremes that overflow when moved to UTC.
iso_times = st.one_of(
    st.builds(
        lambda moment, zone: moment.replace(tzinfo=zone).isoformat(), st.datetimes(), offsets
    ),
    st.builds(lambda moment: moment.isoformat() + "Z", st.datetimes()),
    st.builds(lambda moment: moment.isoformat(), st.datetimes()),
    st.sampled_from(
        [
            "9999-12-31T23:59:59-23:59",
            "0001-01-01T00:00:00+23:59",
            "2025-01-19T16:14:11Z",
            "2025-13-45T99:99:99Z",
            "",
            " ",
        ]
    ),
)
hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=120, max_size=300),
    st.sampled_from(
        [
            HTML,
            "\x00",
            "a\x00b",
            '=HYPERLINK("http://evil.example")',
            "javascript:alert(1)",
            "https://evil.example/",
            "../../etc/passwd",
            "' OR 1=1 --",
            "x" * 129,
            "x" * 2001,
            "\u202e",
            "scheduling_request_time_chosen",
        ]
    ),
    iso_times,
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
)
json_scalars = st.one_of(st.none(), st.booleans(), numbers, hostile_text)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=12), hostile_text), children, max_size=4),
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


EXAMPLE = example_payload()
EXAMPLE_PATHS = _paths(EXAMPLE)


@st.composite
def mutated_examples(draw: st.DrawFn) -> dict[str, Any]:
    """Cronofy's example with 1-4 fields replaced by random values (any type) or removed."""
    document = copy.deepcopy(EXAMPLE)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        path = draw(st.sampled_from(EXAMPLE_PATHS))
        try:
            parent = document
            for step in path[:-1]:
                parent = parent[step]
            if draw(st.integers(min_value=0, max_value=5)) == 0 and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation changed the shape above this path
    return document


def encode(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


# Bodies as sent over the wire: JSON trees, mutated examples, and arbitrary bytes.
bodies = st.one_of(
    st.builds(encode, json_values),
    st.builds(encode, mutated_examples()),
    st.binary(max_size=200),
)


def nested_cursor(depth: int) -> str:
    """A cursor made of JSON nested `depth` deep: the parser's recursion is the target."""
    raw = ("[" * depth + "]" * depth).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


cursors = st.one_of(
    hostile_text,
    st.integers(min_value=1, max_value=5000).map(nested_cursor),
    st.builds(encode_cursor, json_values),
    st.builds(lambda a, b: encode_cursor(a, b), st.one_of(st.integers(), st.text()), st.integers()),
    st.builds(lambda a, b, c: encode_cursor(a, b, c), iso_times, st.integers(), st.text()),
)
