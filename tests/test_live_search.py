"""The dashboard's free-text search: word prefixes of names, emails, summary, correlation ID.

Through the real pages (and the receiver, for keeping the terms up to date); the query
plans and the term extraction are in test_live_search_plan.py.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from tests.support import factories
from tests.support.bookings import make_request
from tests.support.deliveries import deliveries, post_signed
from tests.support.signin import sign_in
from webapp.extensions import db
from webapp.live.queries import PAGE_SIZE, RequestFilters, matching_ids
from webapp.models import SchedulingRequest, utcnow

TRICKY_SUMMARY = 'Pay 100% fit_for "purpose" O\'Brien C:\\path <b>bold</b>'


@pytest.fixture
def viewer(client, staff):
    return sign_in(client, staff.id)


@pytest.fixture
def world(app, staff, admin):
    now = utcnow()
    with app.app_context():
        interviews = factories.make_public_link(owner_id=staff.id, name="Interviews")
        mine = factories.make_tracked_link(interviews.id, "cand-001", created_by_id=staff.id)
        refs = {
            "marty": make_request(
                tracked_link=mine,
                invitee_name="Marty McFly",
                invitee_email="marty.mcfly@hill-valley.edu",
                summary="Engineer interview",
                updated_at=now - timedelta(hours=3),
            ),
            "biff": make_request(
                correlation_id="deal_777.x",
                status="declined",
                invitee_name="Biff Tannen",
                invitee_email="biff@example.org",
                summary="Sales demo",
                updated_at=now - timedelta(hours=2),
            ),
            "lorraine": make_request(
                correlation_id="stray-42",
                invitee_name="Lorraine Baines-McFly",
                invitee_email="lorraine@example.net",
                summary=TRICKY_SUMMARY,
                updated_at=now - timedelta(hours=1),
            ),
            "emmet": make_request(
                tracked_link=mine,
                invitee_name="Dr Emmet Brown",
                invitee_email="eb@example.com",
                summary="Product Manager Interview at Globex",
                updated_at=now - timedelta(minutes=5),
            ),
        }
    return {name: ref.scheduling_request_id for name, ref in refs.items()}


def shown(client, **args) -> list[str]:
    response = client.get("/?" + urlencode(args))
    assert response.status_code == 200
    return re.findall(r'<tr data-srq="([^"]+)"', response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # names: any word, from its start, any case
        ("emmet", ["emmet"]),
        ("EMM", ["emmet"]),
        ("brown", ["emmet"]),
        ("mcfly", ["lorraine", "marty"]),  # "Baines-McFly" is split at the hyphen too
        ("baines-mc", ["lorraine"]),
        # emails: in full, the local part (and its pieces), the domain (with or without @)
        ("eb@example.com", ["emmet"]),
        ("eb@example", ["emmet"]),
        ("marty.mc", ["marty"]),
        ("hill-valley.edu", ["marty"]),
        ("@example.org", ["biff"]),
        ("example", ["emmet", "lorraine", "biff"]),
        # summary words
        ("globex", ["emmet"]),
        ("interview", ["emmet", "marty"]),
        # correlation ID in full and in pieces split at non-alphanumerics
        ("cand-001", ["emmet", "marty"]),
        ("001", ["emmet", "marty"]),
        ("deal_777.x", ["biff"]),
        ("777", ["biff"]),
        ("stray", ["lorraine"]),
        # every word must match (in any field), in any order
        ("emmet globex", ["emmet"]),
        ("interview engineer", ["marty"]),
        ("emmet sales", []),
        ("em emmet", ["emmet"]),
        # no match, and no match in the middle of a word (the search box says so)
        ("nobody", []),
        ("mmet", []),
        ("xample", []),
    ],
)
def test_word_prefix_matching(viewer, world, query, expected):
    assert shown(viewer, q=query) == [world[name] for name in expected]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("%", []),
        ("_", []),
        ("'", []),
        ('"', ["lorraine"]),  # a word as typed keeps its quotes: '"purpose"'
        ("\\", []),
        ("' OR 1=1 --", []),
        ("%' OR '1'='1", []),
        ("<script>alert(1)</script>", []),
        ("e%", []),
        ("e_", []),
        # the same characters are plain text when a stored word has them
        ("100%", ["lorraine"]),
        ("fit_for", ["lorraine"]),
        ('"purpose"', ["lorraine"]),
        ("o'brien", ["lorraine"]),
        ("c:\\path", ["lorraine"]),
        ("<b>bold</b>", ["lorraine"]),
        ("bold", ["lorraine"]),
    ],
)
def test_sql_and_html_characters_are_plain_text(viewer, world, query, expected):
    response = viewer.get("/?" + urlencode({"q": query}))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.findall(r'<tr data-srq="([^"]+)"', html) == [world[name] for name in expected]
    assert "<script>alert(1)" not in html
    if not expected:
        assert "No Scheduling Requests match these filters" in html


def test_search_combines_with_the_other_filters(viewer, world, staff):
    assert shown(viewer, q="example", status="declined") == [world["biff"]]
    assert shown(viewer, q="interview", owner="mine") == [world["emmet"], world["marty"]]
    assert shown(viewer, q="lorraine", owner="mine") == []


def test_long_and_many_word_queries_are_answered(viewer, world):
    assert shown(viewer, q="e" * 500) == []
    many = " ".join(f"w{number}" for number in range(150))  # cut at the length limit
    assert shown(viewer, q=many) == []
    assert shown(viewer, q="emmet " + "e" * 10) == []


def test_search_text_in_the_help(viewer, world):
    html = viewer.get("/").get_data(as_text=True)
    assert "starts a word" in html and "not text in the middle of a word" in html


def test_search_pages_cover_every_match_once(app, viewer):
    now = utcnow()
    with app.app_context():
        wanted = [
            make_request(
                summary=f"Pager check {number}", updated_at=now - timedelta(minutes=number // 2)
            ).scheduling_request_id
            for number in range(PAGE_SIZE + 5)
        ]
        make_request(summary="Something else")
    seen, url = [], "/?q=pager+check"
    while url:
        html = viewer.get(url).get_data(as_text=True)
        seen += re.findall(r'<tr data-srq="([^"]+)"', html)
        match = re.search(r'<a href="([^"]+)" rel="next"', html)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert sorted(seen) == sorted(wanted) and len(seen) == len(set(seen))


def test_export_and_stream_use_the_same_search(app, viewer, world):
    with app.app_context():
        ids = {
            sr.scheduling_request_id: sr.id
            for sr in db.session.scalars(db.select(SchedulingRequest))
        }
    for query in ("interview", "mcfly", "example", "777 deal", "100%", "nobody"):
        page = shown(viewer, q=query)
        export = viewer.get("/requests/export.csv?" + urlencode({"q": query}))
        rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
        assert [row["scheduling_request_id"] for row in rows] == page, query
        # the live stream's re-check of changed rows (matches: true/false)
        with app.app_context():
            matching = matching_ids(RequestFilters(text=query.lower()), list(ids.values()))
        assert matching == {ids[srq] for srq in page}, query


# -- the terms follow the request's state, through the real receiver ---------------------


def deliver(client, srq_id: str, at: str, name: str, email: str, summary: str, cid: str):
    body = json.dumps(
        {
            "notification": {"type": "scheduling_request_time_chosen", "triggered_at": at},
            "scheduling_request": {
                "scheduling_request_id": srq_id,
                "summary": summary,
                "recipients": [{"email": email, "display_name": name}],
                "event": {"metadata": {"scheduler": {"correlation_id": cid}}},
            },
        }
    ).encode()
    response = post_signed(client, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    [delivery] = [d for d in deliveries(client.application) if d.body == body]
    return delivery.status  # applied or stale: under TESTING, applying follows the answer


def test_terms_follow_the_request_state(app, client, staff):
    srq = "srq_terms_follow"
    assert (
        deliver(client, srq, "2025-01-19T16:00:00Z", "Ann Alpha", "ann@alpha.test", "First", "c-1")
        == "applied"
    )
    sign_in(client, staff.id)
    for query in ("ann", "alpha", "ann@alpha.test", "first", "c-1"):
        assert shown(client, q=query) == [srq], query

    newer = deliver(
        client, srq, "2025-01-19T17:00:00Z", "Bea Beta", "bea@beta.test", "Second", "c-2"
    )
    assert newer == "applied"
    for query in ("ann", "alpha", "first", "c-1", "ann@alpha.test"):
        assert shown(client, q=query) == [], query  # the old terms are gone
    for query in ("bea", "beta", "bea@beta.test", "@beta.test", "second", "c-2"):
        assert shown(client, q=query) == [srq], query

    # an older notification arriving late is recorded but changes nothing, terms included
    stale = deliver(client, srq, "2025-01-19T16:30:00Z", "Cy Gamma", "cy@gamma.test", "Late", "c-3")
    assert stale == "stale"
    assert shown(client, q="gamma") == [] and shown(client, q="beta") == [srq]
