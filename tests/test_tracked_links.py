"""Tracked-link pages: create, list (search, filters, pages), detail/edit, disable, export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from tests.support import factories
from tests.support.signin import sign_in
from webapp.extensions import db
from webapp.models import PublicLink, SchedulingRequest, TrackedLink, Visit

XSS = "<script>alert(1)</script>"


def tracked(app) -> list[TrackedLink]:
    with app.app_context():
        rows = db.session.execute(select(TrackedLink).order_by(TrackedLink.id)).scalars().all()
        db.session.expunge_all()
        return rows


def form(public_link_id, **values):
    data = {"public_link_id": str(public_link_id), "correlation_id": "", "label": ""}
    data.update(values)
    return data


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/links"),
        ("get", "/links/new"),
        ("post", "/links/new"),
        ("get", "/links/1"),
        ("post", "/links/1"),
        ("post", "/links/1/disable"),
        ("post", "/links/1/enable"),
        ("get", "/links/bulk"),
        ("post", "/links/bulk"),
        ("get", "/links/export.csv"),
    ],
)
def test_pages_need_sign_in(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_create_shows_the_short_url_with_a_copy_button(app, staff_client, public_link, staff):
    page = staff_client.get("/links/new").get_data(as_text=True)
    assert "Interviews" in page and "UTC" in page and 'name="allow_repeat_bookings"' in page
    response = staff_client.post(
        "/links/new",
        data=form(
            public_link,
            correlation_id="  cand-42  ",
            label="Ada Lovelace",
            utm_source="newsletter",
            utm_term="",
            expires_at="2099-01-31T17:30",
            allow_repeat_bookings="1",
        ),
    )
    assert response.status_code == 302
    [link] = tracked(app)
    assert link.correlation_id == "cand-42" and link.label == "Ada Lovelace"
    assert link.utm_source == "newsletter" and link.utm_term is None
    assert link.expires_at == datetime(2099, 1, 31, 17, 30, tzinfo=UTC)  # read as UTC
    assert link.allow_repeat_bookings is True and link.created_by_id == staff.id
    assert len(link.slug) >= 12 and all(c.isalnum() or c in "-_" for c in link.slug)
    detail = staff_client.get(response.headers["Location"]).get_data(as_text=True)
    short = f"http://localhost/l/{link.slug}"
    assert short in detail and f'data-copy="{short}"' in detail


def test_blank_correlation_id_is_generated(app, staff_client, public_link):
    assert staff_client.post("/links/new", data=form(public_link)).status_code == 302
    assert staff_client.post("/links/new", data=form(public_link)).status_code == 302
    first, second = tracked(app)
    assert (
        first.correlation_id
        and second.correlation_id
        and first.correlation_id != second.correlation_id
    )
    assert first.slug != second.slug


def test_duplicate_correlation_id_is_a_field_error_and_keeps_values(app, staff_client, public_link):
    staff_client.post("/links/new", data=form(public_link, correlation_id="dup"))
    response = staff_client.post(
        "/links/new", data=form(public_link, correlation_id="dup", label="Keep this label")
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "already uses this correlation ID" in text
    assert 'value="Keep this label"' in text and 'value="dup"' in text
    assert len(tracked(app)) == 1


def test_every_invalid_field_is_reported(app, staff_client, public_link):
    with app.app_context():
        inactive = factories.make_public_link(name="Old", active=False).id
    response = staff_client.post(
        "/links/new",
        data=form(
            inactive,
            correlation_id="x" * 129,
            label="l" * 201,
            utm_campaign="c" * 129,
            expires_at="2001-01-01T00:00",
        ),
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    for phrase in ("at most 128", "at most 200", "deactivated"):
        assert phrase in text
    response = staff_client.post("/links/new", data=form("", expires_at="2001-01-01T00:00"))
    text = response.get_data(as_text=True)
    assert "choose a Public Link" in text and "must be in the future" in text
    assert tracked(app) == []


def test_create_form_without_public_links_explains(staff_client):
    page = staff_client.get("/links/new").get_data(as_text=True)
    assert "Register a Public Link first" in page


def test_list_filters_search_and_owner_defaults(app, client, staff, admin, public_link):
    with app.app_context():
        other_public = factories.make_public_link(name="Sales demos").id
        factories.make_tracked_link(public_link, "mine-1", staff.id, label="Grace Hopper")
        factories.make_tracked_link(other_public, "mine-2", staff.id, label="Deal 100%")
        factories.make_tracked_link(public_link, "theirs-1", admin.id, label="Alan Turing")
    sign_in(client, staff.id)
    page = client.get("/links").get_data(as_text=True)
    assert "mine-1" in page and "mine-2" in page and "theirs-1" not in page  # staff: mine
    page = client.get("/links?owner=all").get_data(as_text=True)
    assert all(cid in page for cid in ("mine-1", "mine-2", "theirs-1"))
    page = client.get("/links?owner=all&q=turing").get_data(as_text=True)
    assert "theirs-1" in page and "mine-1" not in page
    page = client.get("/links?q=MINE-2").get_data(as_text=True)
    assert "mine-2" in page and "mine-1" not in page
    page = client.get("/links?q=100%25").get_data(as_text=True)  # % is literal, not a wildcard
    assert "mine-2" in page and "mine-1" not in page
    page = client.get(f"/links?owner=all&public_link={other_public}").get_data(as_text=True)
    assert "mine-2" in page and "mine-1" not in page and "theirs-1" not in page
    page = client.get("/links?q=nothing-matches").get_data(as_text=True)
    assert "No tracked links match" in page
    # "Created by" defaults the same way for everyone: "Mine" when you have links.
    sign_in(client, admin.id)
    page = client.get("/links").get_data(as_text=True)
    assert "theirs-1" in page and "mine-1" not in page
    assert '<option value="mine" selected>Mine</option>' in page
    page = client.get("/links?owner=all").get_data(as_text=True)
    assert all(cid in page for cid in ("mine-1", "mine-2", "theirs-1"))


def test_created_by_defaults_to_anyone_without_links_of_ones_own(
    app, client, staff, admin, public_link
):
    with app.app_context():
        factories.make_tracked_link(public_link, "theirs-1", admin.id)
    sign_in(client, staff.id)
    page = client.get("/links").get_data(as_text=True)
    assert "theirs-1" in page
    assert '<option value="all" selected>Anyone</option>' in page


def test_list_pages_with_a_keyset_cursor(app, staff_client, staff, public_link):
    with app.app_context():
        for number in range(60):
            factories.make_tracked_link(public_link, f"cid-{number:03d}", staff.id)
    statements = []
    with app.app_context():
        engine = db.engine

        def record(conn, cursor, statement, parameters, *args):
            statements.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", record)
        try:
            first = staff_client.get("/links").get_data(as_text=True)
            href = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
            second = staff_client.get(href.replace("&amp;", "&")).get_data(as_text=True)
        finally:
            event.remove(engine, "before_cursor_execute", record)
    assert "cid-059" in first and "cid-010" in first and "cid-009" not in first
    assert "cid-009" in second and "cid-000" in second and "cid-010" not in second
    assert 'rel="next"' not in second and 'rel="prev"' in second
    assert "<strong>1–50</strong> of <strong>60</strong> tracked links" in first
    assert "<strong>51–60</strong> of <strong>60</strong> tracked links" in second
    back = second.split('rel="prev"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert staff_client.get(back.replace("&amp;", "&")).get_data(as_text=True).count(
        "cid-0"
    ) == first.count("cid-0")
    # SQLite renders LIMIT with "OFFSET 0"; any other offset would be offset pagination.
    offsets = [params[-1] for statement, params in statements if "OFFSET" in statement.upper()]
    assert set(offsets) <= {0}
    assert staff_client.get("/links?cursor=nonsense").status_code == 302


def test_list_shows_clicks_booking_state_and_copy_button(app, staff_client, staff, public_link):
    with app.app_context():
        link = factories.make_tracked_link(public_link, "booked-1", staff.id)
        link_id, slug = link.id, link.slug
        for agent in ("human", "human", "bot", "preview", "head"):
            db.session.add(Visit(tracked_link_id=link_id, agent_class=agent, outcome="redirect"))
        now = datetime.now(UTC)
        db.session.add_all(
            [
                SchedulingRequest(
                    scheduling_request_id="srq_old",
                    tracked_link_id=link_id,
                    status="time_chosen",
                    updated_at=now - timedelta(hours=1),
                ),
                SchedulingRequest(
                    scheduling_request_id="srq_new",
                    tracked_link_id=link_id,
                    status="rescheduled",
                    updated_at=now,
                ),
            ]
        )
        db.session.commit()
    page = staff_client.get("/links").get_data(as_text=True)
    row = page.split(f'href="/links/{link_id}"')[1].split("</tr>")[0]
    assert 'data-label="Clicks">2</td>' in row
    assert 'href="/requests/srq_new"' in row and "Rescheduled" in row and "srq_old" not in row
    assert f'data-copy="http://localhost/l/{slug}"' in row
    detail = staff_client.get(f"/links/{link_id}").get_data(as_text=True)
    assert 'href="/requests/srq_new"' in detail


def test_disable_and_enable(app, staff_client, staff, public_link, client):
    with app.app_context():
        link = factories.make_tracked_link(public_link, "toggle", staff.id)
        link_id, slug = link.id, link.slug
    page = staff_client.get("/links").get_data(as_text=True)
    assert f'action="/links/{link_id}/disable"' in page and "data-confirm=" in page
    response = staff_client.post(f"/links/{link_id}/disable", data={"next": "/links?q=toggle"})
    assert response.status_code == 302 and response.headers["Location"] == "/links?q=toggle"
    assert tracked(app)[0].disabled_at is not None
    assert client.get(f"/l/{slug}").status_code == 410
    assert "Disabled" in staff_client.get("/links").get_data(as_text=True)
    response = staff_client.post(f"/links/{link_id}/enable", data={"next": "https://evil.com/"})
    assert response.headers["Location"] == f"/links/{link_id}"
    assert tracked(app)[0].disabled_at is None
    assert client.get(f"/l/{slug}").status_code == 302


def test_detail_page_edits_fields(app, staff_client, staff, public_link):
    with app.app_context():
        factories.make_tracked_link(public_link, "taken", staff.id)
        link = factories.make_tracked_link(public_link, "mine", staff.id, label="Old")
        link_id = link.id
    page = staff_client.get(f"/links/{link_id}").get_data(as_text=True)
    # The link's page shows its facts; editing is one click away, on its own page.
    assert "Nobody has opened this link yet" in page and 'name="label"' not in page
    assert f'href="/links/{link_id}/edit"' in page
    page = staff_client.get(f"/links/{link_id}/edit").get_data(as_text=True)
    assert 'value="Old"' in page and f'action="/links/{link_id}"' in page
    assert page.count('name="utm_') == 5 and "utm-grid" in page
    bad = staff_client.post(
        f"/links/{link_id}", data=form(public_link, correlation_id="taken", label="New")
    )
    assert bad.status_code == 422 and "already uses this correlation ID" in bad.get_data(
        as_text=True
    )
    ok = staff_client.post(
        f"/links/{link_id}",
        data=form(
            public_link, correlation_id="mine", label="New", utm_medium="email", expires_at=""
        ),
    )
    assert ok.status_code == 302
    edited = tracked(app)[1]
    assert (edited.label, edited.utm_medium, edited.allow_repeat_bookings) == (
        "New",
        "email",
        False,
    )
    assert staff_client.get("/links/9999").status_code == 404


def test_staff_cannot_change_someone_elses_link(app, staff_client, admin, public_link):
    with app.app_context():
        link_id = factories.make_tracked_link(public_link, "admins", admin.id).id
    assert staff_client.post(f"/links/{link_id}/disable").status_code == 403
    assert (
        staff_client.post(
            f"/links/{link_id}", data=form(public_link, correlation_id="x")
        ).status_code
        == 403
    )
    page = staff_client.get(f"/links/{link_id}").get_data(as_text=True)
    assert f"/links/{link_id}/edit" not in page and f"/links/{link_id}/disable" not in page
    assert staff_client.get(f"/links/{link_id}/edit").status_code == 403


def test_export_csv_of_the_filtered_list(app, staff_client, staff, public_link):
    with app.app_context():
        link = factories.make_tracked_link(
            public_link,
            '=HYPERLINK("http://evil")',
            staff.id,
            label="+cmd",
            utm_source="@src",
            utm_medium="-1",
        )
        db.session.add(Visit(tracked_link_id=link.id, agent_class="human", outcome="redirect"))
        db.session.commit()
        slug = link.slug
        factories.make_tracked_link(public_link, "other", staff.id, label="Other")
    response = staff_client.get("/links/export.csv?q=HYPER")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == [
        "correlation_id",
        "label",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "public_link",
        "url",
        "click_count",
        "created_at",
        "disabled",
        "last_clicked_at",  # issue 11: the follow-up columns
        "booking_status",
    ]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["correlation_id"] == '\'=HYPERLINK("http://evil")'
    assert row["label"] == "'+cmd" and row["utm_source"] == "'@src" and row["utm_medium"] == "'-1"
    assert row["public_link"] == "Interviews" and row["url"] == f"http://localhost/l/{slug}"
    assert (
        row["click_count"] == "1" and row["disabled"] == "false" and row["created_at"].endswith("Z")
    )
    everything = staff_client.get("/links/export.csv").get_data(as_text=True)
    assert len(list(csv.reader(io.StringIO(everything)))) == 3


def test_html_in_values_is_rendered_as_text(app, staff_client, staff):
    with app.app_context():
        public = factories.make_public_link(owner_id=staff.id, name=f"PL {XSS}")
        link = factories.make_tracked_link(
            public.id,
            f"cid {XSS}",
            staff.id,
            label=f"label {XSS}",
            **{
                key: f"{key} {XSS}"
                for key in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
            },
        )
        link_id = link.id
    for path in ("/links", f"/links/{link_id}", "/links/new", "/public-links", "/links/bulk"):
        page = staff_client.get(path).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in page, path
    detail = staff_client.get(f"/links/{link_id}").get_data(as_text=True)
    for text in ("cid ", "label ", "utm_source ", "utm_content ", "PL "):
        assert f"{text}&lt;script&gt;alert(1)&lt;/script&gt;" in detail, text


def test_deactivated_public_link_stays_selectable_on_its_links(
    app, staff_client, staff, public_link
):
    with app.app_context():
        link_id = factories.make_tracked_link(public_link, "keep", staff.id).id
        db.session.get(PublicLink, public_link).active = False
        db.session.commit()
    page = staff_client.get(f"/links/{link_id}").get_data(as_text=True)
    assert "Public Link deactivated" in page
    page = staff_client.get(f"/links/{link_id}/edit").get_data(as_text=True)
    assert "Interviews (deactivated)" in page
    ok = staff_client.post(
        f"/links/{link_id}", data=form(public_link, correlation_id="keep", label="x")
    )
    assert ok.status_code == 302


def test_out_of_range_ids_and_cursors_are_not_errors(app, staff_client):
    from webapp.pagination import encode_cursor

    big = "9" * 30
    assert staff_client.get(f"/links/{big}").status_code == 404
    assert staff_client.post(f"/links/{big}/disable").status_code == 404
    assert staff_client.get(f"/public-links/{big}/edit").status_code == 404
    assert staff_client.get(f"/links?public_link={big}").status_code == 200
    assert staff_client.get("/links?public_link=%C2%B2").status_code == 200  # "²" is a digit
    assert staff_client.post("/links/new", data={"public_link_id": big}).status_code == 422
    cursor = encode_cursor("2030-01-01T00:00:00+00:00", 10**30)
    assert staff_client.get(f"/links?cursor={cursor}").status_code == 302
    cursor = encode_cursor("not a time", 1)
    assert staff_client.get(f"/links?cursor={cursor}").status_code == 302


def test_search_with_a_nul_character_is_harmless(staff_client):
    assert staff_client.get("/links?q=a%00b").status_code == 200
