"""The dashboard home: the Scheduling Requests table, its filters, pages and first run."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.support import factories
from tests.support.bookings import make_request
from tests.support.signin import sign_in
from webapp.live.queries import PAGE_SIZE
from webapp.models import utcnow


@pytest.fixture
def viewer(client, staff):
    return sign_in(client, staff.id)


def srq_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-srq="([^"]+)"', html)


@pytest.fixture
def world(app, staff, admin):
    """Two Public Links, tracked links owned by staff and admin, and a few requests."""
    now = utcnow()
    with app.app_context():
        interviews = factories.make_public_link(owner_id=staff.id, name="Interviews")
        demos = factories.make_public_link(owner_id=admin.id, name="Sales demos")
        mine = factories.make_tracked_link(interviews.id, "cand-001", created_by_id=staff.id)
        theirs = factories.make_tracked_link(demos.id, "deal-777", created_by_id=admin.id)
        refs = {
            "oldest": make_request(
                tracked_link=mine,
                invitee_name="Marty McFly",
                invitee_email="marty@example.com",
                summary="Engineer interview",
                updated_at=now - timedelta(hours=3),
            ),
            "declined": make_request(
                tracked_link=theirs,
                status="declined",
                invitee_name="Biff Tannen",
                invitee_email="biff@example.org",
                summary="Sales demo",
                updated_at=now - timedelta(hours=2),
                notifications=2,
            ),
            "unmatched": make_request(
                correlation_id="stray-42",
                invitee_name="Lorraine Baines",
                invitee_email="lorraine@example.net",
                summary="Coffee chat",
                updated_at=now - timedelta(hours=1),
            ),
            "newest": make_request(
                tracked_link=mine,
                invitee_name="Dr Emmet Brown",
                invitee_email="eb@example.com",
                summary="Product Manager Interview at Globex",
                updated_at=now - timedelta(minutes=5),
            ),
        }
        mine_id = mine.id
    return {"interviews": interviews, "demos": demos, "refs": refs, "mine_id": mine_id}


def test_sign_in_required(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_table_newest_first_with_every_column(viewer, world):
    html = viewer.get("/").get_data(as_text=True)
    refs = world["refs"]
    order = [refs[name].scheduling_request_id for name in ("newest", "unmatched", "declined")]
    order.append(refs["oldest"].scheduling_request_id)
    assert srq_ids(html) == order
    assert "<h1>Scheduling Requests</h1>" in html
    # invitee name and email, summary, owner, public link, count, relative + exact time
    assert "Dr Emmet Brown" in html and "eb@example.com" in html
    assert "Product Manager Interview at Globex" in html
    assert "Sam Staff" in html and "Interviews" in html and "Sales demos" in html
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[\d:]+Z" title="[^"]+ UTC"', html)
    assert "5 minutes ago" in html
    # the correlation ID links to the tracked link; the stray one is marked unmatched
    assert re.search(rf'href="/links/{world["mine_id"]}"[^>]*>cand-001</a>', html)
    assert re.search(r"stray-42</span> <span[^>]*>unmatched</span>", html)
    # each row links to its detail page; the status is a badge
    assert f'href="/requests/{refs["newest"].scheduling_request_id}"' in html
    assert '<span class="badge tone-danger" data-status="declined">Declined</span>' in html
    assert 'data-stream-url="/live/stream"' in html
    assert "js/live.js" in html and 'data-first-page="1"' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=declined", ["declined"]),
        ("owner=mine", ["newest", "oldest"]),
        ("q=MARTY", ["oldest"]),
        ("q=stray-42", ["unmatched"]),
        ("q=example.org", ["declined"]),
        ("q=globex", ["newest"]),
        ("q=emmet+brown", ["newest"]),
        ("q=100%25", []),
        ("status=time_chosen&owner=mine&q=engineer", ["oldest"]),
    ],
)
def test_filters(viewer, world, query, expected):
    html = viewer.get(f"/?{query}").get_data(as_text=True)
    refs = world["refs"]
    assert srq_ids(html) == [refs[name].scheduling_request_id for name in expected]
    if not expected:
        assert "No Scheduling Requests match these filters" in html


def test_public_link_filter_and_form_keeps_values(viewer, world):
    demos = world["demos"].id
    html = viewer.get(f"/?public_link={demos}&q=biff&status=declined").get_data(as_text=True)
    assert srq_ids(html) == [world["refs"]["declined"].scheduling_request_id]
    assert f'<option value="{demos}" selected>Sales demos</option>' in html
    assert 'value="biff"' in html
    assert '<option value="declined" selected>' in html
    # the stream and the export carry the same filters
    assert "/live/stream?status=declined&amp;public_link=" in html
    assert "/requests/export.csv?status=declined&amp;public_link=" in html


def test_invalid_filter_values_are_reported_not_fatal(viewer, world):
    response = viewer.get("/?public_link=abc&owner=everyone&cursor=!!!")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Ignored the filter public_link" in html and "Ignored the filter owner" in html
    assert "That page link is not valid" in html
    assert len(srq_ids(html)) == 4


def test_pagination_covers_every_row_once(app, viewer, staff):
    now = utcnow()
    with app.app_context():
        made = set()
        for number in range(PAGE_SIZE * 2 + 3):
            # ties in updated_at are broken by id, so equal times must not lose rows
            at = now - timedelta(minutes=number // 3)
            made.add(make_request(updated_at=at, summary=f"Call {number}").scheduling_request_id)
    seen: list[str] = []
    url = "/"
    pages = 0
    while url:
        html = viewer.get(url).get_data(as_text=True)
        page = srq_ids(html)
        assert len(page) <= PAGE_SIZE
        seen += page
        pages += 1
        match = re.search(r'<a href="([^"]+)" rel="next"', html)
        url = match.group(1).replace("&amp;", "&") if match else None
        if pages > 1:
            assert 'data-first-page="0"' in html and 'rel="prev"' in html
        first = (pages - 1) * PAGE_SIZE + 1
        assert (
            f"<strong>{first}–{first + len(page) - 1}</strong> of <strong>{len(made)}</strong>"
            in html
        )
    assert pages == 3
    assert len(seen) == len(set(seen)) == len(made)
    assert set(seen) == made


def test_pager_links_keep_filters(app, viewer, staff):
    with app.app_context():
        for number in range(PAGE_SIZE + 1):
            make_request(summary=f"Panel {number}", status="time_chosen")
        make_request(summary="Other", status="declined")
    html = viewer.get("/?status=time_chosen&q=panel").get_data(as_text=True)
    next_url = re.search(r'<a href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert "status=time_chosen" in next_url and "q=panel" in next_url
    second = viewer.get(next_url).get_data(as_text=True)
    assert len(srq_ids(second)) == 1
    assert 'href="/?status=time_chosen&amp;q=panel" rel="prev"' in second


def test_first_run_guides_step_by_step(viewer):
    html = viewer.get("/").get_data(as_text=True)
    assert "first-run" in html
    steps = html.split('<ol class="steps">')[1].split("</ol>")[0]
    assert steps.count("<li") == 3  # numbered, in order
    assert 'href="/public-links/new" role="button" class="small">Add a Public Link' in steps
    assert "Create a tracked link" in steps and "Book a time as the invitee would" in steps
    assert "fills itself" in html
    assert "sandbox link" not in html  # the sandbox is off in the test config
    assert "Done:" not in html


def test_first_run_marks_done_steps_and_offers_sandbox(app_factory, staff):
    app = app_factory(WEBAPP_SANDBOX=True)
    client = sign_in(app.test_client(), staff.id)
    html = client.get("/").get_data(as_text=True)
    assert 'action="/public-links/sandbox"' in html and "Register the ready sandbox link" in html
    with app.app_context():
        factories.make_public_link(owner_id=staff.id)
    html = client.get("/").get_data(as_text=True)
    assert html.count("Done:") == 1
    assert "ready sandbox link" not in html  # step one is done
    assert 'href="/links/new" role="button" class="small">Create a tracked link' in html


def test_no_first_run_once_requests_exist(app, viewer, world):
    html = viewer.get("/?q=nobody-matches-this").get_data(as_text=True)
    assert "first-run" not in html
    assert "No Scheduling Requests match these filters" in html


def test_html_in_cronofy_fields_is_text(app, viewer):
    with app.app_context():
        make_request(
            summary="<script>alert(1)</script>",
            invitee_name="<b>Bold</b>",
            invitee_email="x@example.com",
            correlation_id='"><img src=x onerror=alert(2)>',
        )
    html = viewer.get("/").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Bold</b>" not in html and "&lt;b&gt;Bold&lt;/b&gt;" in html
    assert "<img src=x" not in html
