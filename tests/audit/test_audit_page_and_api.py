"""The admin page /audit (filters, pages, CSV export) and GET /api/v1/audit-events."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.audit.support import BROWSER, build_install
from tests.support.signin import bearer, sign_in
from webapp.audit import actions
from webapp.audit.log import Target, record
from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import User

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NEXT_LINK = re.compile(r'<a href="([^"]+)" rel="next"')


@pytest.fixture
def install(app):
    install = build_install(app)
    with app.app_context():
        admin = db.session.get(User, install.admin_id)
        staff = db.session.get(User, install.staff_id)
        with write_transaction():
            # Oldest first: 1 March 09:00 onwards, one a day.
            record(
                actions.TRACKED_LINK_CREATED,
                Target("tracked_link", 7, "cand-0042"),
                {"label": [None, '=HYPERLINK("http://evil")']},
                actor=staff,
                at=T0,
            )
            record(
                actions.PUBLIC_LINK_UPDATED,
                Target("public_link", 3, "Interviews"),
                {"name": ["Old", "Interviews"]},
                actor=admin,
                at=T0 + timedelta(days=1),
            )
            record(
                actions.USER_ROLE_CHANGED,
                Target("user", install.staff_id, "staff@example.com"),
                {"role": ["staff", "admin"]},
                actor=admin,
                at=T0 + timedelta(days=2),
            )
            record(
                actions.SIGN_IN_FAILED,
                Target("user", None, "mallory@example.com"),
                actor=None,
                at=T0 + timedelta(days=3),
            )
        db.session.remove()
    return install


@pytest.fixture
def admin_page(app, install):
    """The signed-in admin; signing in adds the newest entry, named ME."""
    return sign_in(app.test_client(), "admin@example.com")


ME = "admin@example.com"


def api(app, install, query="", token=None):  # type: ignore[no-untyped-def]
    return app.test_client().get(
        "/api/v1/audit-events" + query, headers=bearer(token or install.admin_token)
    )


def names(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [item["target"]["name"] for item in response.get_json()["items"]]


# -- the page --------------------------------------------------------------------------


def test_page_lists_entries_newest_first_with_actor_address_target_and_changes(admin_page):
    page = admin_page.get("/audit").get_data(as_text=True)
    order = [page.index(name) for name in ("mallory@", "staff@example.com</strong>", "Interviews")]
    assert order == sorted(order)
    assert "user.role_changed" in page and "User role changed" in page
    assert "admin@example.com" in page
    flat = " ".join(page.split())
    assert '<span class="muted">role:</span> staff → admin' in flat
    # Recorded outside a request (as the CLI and the outbox worker record): no actor, no address.
    assert ">The app</span>" in page
    assert "1–5</strong> of <strong>5</strong> entries" in flat  # the four, and the sign-in


def test_nav_links_to_the_audit_log_for_admins_only(app, install, admin_page):
    assert 'href="/audit"' in admin_page.get("/").get_data(as_text=True)
    staff = sign_in(app.test_client(), "staff@example.com")
    assert 'href="/audit"' not in staff.get("/").get_data(as_text=True)
    assert staff.get("/audit").status_code == 403
    assert staff.get("/audit/export.csv").status_code == 403


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("actor=admin@example.com", [ME, "staff@example.com", "Interviews"]),
        ("actor=STAFF@example.com", ["cand-0042"]),
        ("actor=system", ["mallory@example.com"]),
        ("actor=nobody@example.com", []),
        ("action=user.role_changed", ["staff@example.com"]),
        ("action=user.*", ["staff@example.com"]),
        ("action=auth.*", [ME, "mallory@example.com"]),
        ("action=auth.sign_in_failed", ["mallory@example.com"]),
        ("target_type=public_link", ["Interviews"]),
        ("q=CAND-00", ["cand-0042"]),
        ("q=example.com", [ME, "mallory@example.com", "staff@example.com"]),
        ("from=2026-03-02&to=2026-03-03", ["staff@example.com", "Interviews"]),
        ("from=2026-03-02T09:00:01Z", [ME, "mallory@example.com", "staff@example.com"]),
        ("to=2026-03-01", ["cand-0042"]),
        ("q=%25", []),  # a LIKE wildcard is a plain character
    ],
)
def test_filters_on_the_page_and_the_api_agree(app, install, admin_page, query, expected):
    assert names(api(app, install, "?" + query)) == expected
    page = admin_page.get("/audit?" + query).get_data(as_text=True)
    for name in ("cand-0042", "Interviews", "mallory@example.com"):
        shown = f">{name}</strong>" in page
        assert shown == (name in expected), (query, name)


def test_invalid_filters_are_named(app, install, admin_page):
    response = api(app, install, "?action=user.exploded&from=yesterday&target_type=cat")
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert set(fields) == {"action", "from", "target_type"}
    page = admin_page.get("/audit?from=yesterday", follow_redirects=True).get_data(as_text=True)
    assert "Ignored the filter “from”" in page and "cand-0042" in page


def test_pages_follow_on_without_gaps_or_repeats(app, install, admin_page):
    first = api(app, install, "?limit=3").get_json()
    assert [item["target"]["name"] for item in first["items"]] == [
        ME,
        "mallory@example.com",
        "staff@example.com",
    ]
    second = api(app, install, f"?limit=3&cursor={first['next_cursor']}").get_json()
    assert [item["target"]["name"] for item in second["items"]] == ["Interviews", "cand-0042"]
    assert second["next_cursor"] is None
    bad = api(app, install, "?cursor=not-a-cursor")
    assert bad.status_code == 422 and "cursor" in bad.get_json()["error"]["fields"]
    assert admin_page.get("/audit?cursor=garbage").status_code == 302


def test_page_links_the_next_page_keeping_the_filters(app, install, admin_page):
    with app.app_context():
        with write_transaction():
            for n in range(30):
                record(
                    actions.PUBLIC_LINK_UPDATED,
                    Target("public_link", 100 + n, f"Link {n:02d}"),
                    at=T0 + timedelta(days=4, hours=n),  # after the install's four
                )
        db.session.remove()
    html = admin_page.get("/audit?target_type=public_link&per_page=25").get_data(as_text=True)
    flat = " ".join(html.split())
    assert "1–25</strong> of <strong>31</strong> entries" in flat
    assert "Link 29</strong>" in html and "Link 04</strong>" not in html  # newest first
    (href,) = NEXT_LINK.findall(html)
    href = href.replace("&amp;", "&")
    assert "target_type=public_link" in href and "cursor=" in href and "per_page=25" in href
    following = admin_page.get(href).get_data(as_text=True)
    flat = " ".join(following.split())
    assert "26–31</strong> of <strong>31</strong> entries" in flat
    assert "Link 04</strong>" in following and "Interviews</strong>" in following
    assert "Link 29</strong>" not in following
    assert 'rel="prev"' in following and 'rel="next"' not in following
    assert ">ada@example.com" not in following  # the filter holds on the next page


def test_export_is_the_filtered_list_with_formula_safe_cells(admin_page):
    response = admin_page.get("/audit/export.csv?actor=staff@example.com")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == [
        "at",
        "actor",
        "address",
        "action",
        "target_type",
        "target_id",
        "target_name",
        "changes",
    ]
    assert len(rows) == 2
    at, actor, address, action, kind, ident, name, changes = rows[1]
    assert (at, actor, action, kind, ident, name) == (
        "2026-03-01T09:00:00Z",
        "staff@example.com",
        "tracked_link.created",
        "tracked_link",
        "7",
        "cand-0042",
    )
    assert address == "cli"
    assert "HYPERLINK" in changes and not changes.startswith(("=", "+", "-", "@"))


def test_export_neutralises_a_cell_that_starts_like_a_formula(app, install, admin_page):
    with app.app_context():
        with write_transaction():
            record(actions.PUBLIC_LINK_CREATED, Target("public_link", 9, "=SUM(A1:A9)"), at=T0)
        db.session.remove()
    text = admin_page.get("/audit/export.csv?target_type=public_link").get_data(as_text=True)
    assert "'=SUM(A1:A9)" in text


def test_export_covers_every_page(app, install, admin_page, monkeypatch):
    monkeypatch.setattr("webapp.audit.queries.EXPORT_BATCH", 2)
    text = admin_page.get("/audit/export.csv").get_data(as_text=True)
    assert len(list(csv.reader(io.StringIO(text)))) == 1 + 5  # the four, and the sign-in


# -- the API ---------------------------------------------------------------------------


def test_api_item_has_exactly_the_documented_shape(app, install):
    response = api(app, install, "?action=user.role_changed")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"items", "next_cursor"}
    (item,) = body["items"]
    assert set(item) == {"id", "at", "actor", "address", "action", "target", "changes"}
    assert item["at"] == "2026-03-03T09:00:00Z"
    assert item["actor"] == "admin@example.com"
    assert item["target"] == {"type": "user", "id": install.staff_id, "name": "staff@example.com"}
    assert item["changes"] == {"role": ["staff", "admin"]}
    (system,) = api(app, install, "?actor=system").get_json()["items"]
    assert system["actor"] is None


def test_api_is_for_admin_tokens_only(app, install):
    staff = api(app, install, token=install.staff_token)
    assert staff.status_code == 403 and staff.get_json()["error"]["code"] == "forbidden"
    anonymous = app.test_client().get("/api/v1/audit-events")
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]["code"] == "unauthorized"
    # A signed-in admin's browser session is not an API credential.
    browser = sign_in(app.test_client(), "admin@example.com")
    assert browser.get("/api/v1/audit-events", headers=BROWSER).status_code == 401


def test_api_limit_is_checked(app, install):
    assert api(app, install, "?limit=0").status_code == 422
    assert len(api(app, install, "?limit=2").get_json()["items"]) == 2
