"""The app shell: navigation and account menu, the one-line banner, flashes, the account
page, friendly error pages, and the first run's one-click sandbox link."""

from __future__ import annotations

import re

import pytest
from flask import abort
from sqlalchemy import select

from tests.support import factories
from tests.support.signin import sign_in
from webapp.extensions import db
from webapp.models import PublicLink, User
from webapp.templating import humanize_type, status_tone, visit_outcome, visitor_kind


def test_shell_names_the_person_and_offers_the_account_menu(admin_client):
    page = admin_client.get("/").get_data(as_text=True)
    assert 'aria-label="Account menu for Ada Admin (Admin)"' in page
    assert 'aria-expanded="false" aria-controls="app-nav"' in page  # the menu button
    menu = page.split('id="user-menu"')[1].split("</div>")[0]
    assert 'href="/account"' in menu and 'href="/tokens"' in menu
    assert re.search(
        r'<form method="post" action="/logout">\s*<input type="hidden" name="csrf_token"', menu
    )
    nav = page.split('id="app-nav"')[1].split("</nav>")[0]
    for path in ("/", "/links", "/public-links", "/events", "/users", "/settings"):
        assert f'href="{path}"' in nav
    assert 'aria-current="page"' in nav.split('href="/links"')[0]  # Requests is current


def test_staff_see_no_admin_pages_in_the_navigation(staff_client):
    page = staff_client.get("/links").get_data(as_text=True)
    nav = page.split('id="app-nav"')[1].split("</nav>")[0]
    assert 'href="/settings"' not in nav and 'href="/users"' not in nav
    assert "Sam Staff" in page and "Staff" in page


def test_the_banner_is_one_short_line_without_setup_instructions(sandbox_app, admin, staff):
    for user in (admin, staff):
        page = sign_in(sandbox_app.test_client(), user.id).get("/").get_data(as_text=True)
        banner = page.split('class="mode-banner')[1].split("</div>")[0]
        assert "Sandbox mode: bookings are simulated." in banner
        assert "CRONOFY_" not in banner
        assert ('href="/settings#live-mode-heading"' in banner) is (user is admin)
    settings = sign_in(sandbox_app.test_client(), admin.id).get("/settings").get_data(as_text=True)
    instructions = settings.split('id="live-mode-heading"')[1]
    assert "WEBAPP_SANDBOX=0" in instructions


def test_the_banner_can_be_dismissed_for_the_session(sandbox_app, staff):
    client = sign_in(sandbox_app.test_client(), staff.id)
    answer = client.post("/account/banner", data={"key": "sandbox", "next": "/links?q=x"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/links?q=x"
    assert 'class="mode-banner' not in client.get("/").get_data(as_text=True)
    elsewhere = client.post("/account/banner", data={"key": "sandbox", "next": "//evil.example"})
    assert elsewhere.headers["Location"] == "/"
    fresh = sign_in(sandbox_app.test_client(), staff.id)  # another session still sees it
    assert 'class="mode-banner' in fresh.get("/").get_data(as_text=True)


def test_dismissing_one_mode_does_not_hide_another(app_factory, staff):
    app = app_factory(CRONOFY_CLIENT_SECRET="")  # live mode, receiver not set up
    client = sign_in(app.test_client(), staff.id)
    client.post("/account/banner", data={"key": "sandbox"})
    page = client.get("/").get_data(as_text=True)
    assert "Live mode is not fully set up: bookings are not received." in page


def test_complete_live_mode_shows_no_banner(staff_client):
    assert 'class="mode-banner' not in staff_client.get("/").get_data(as_text=True)


def test_please_sign_in_is_information_and_success_is_green(client, admin, auth):
    page = client.get("/links", follow_redirects=True).get_data(as_text=True)
    assert re.search(r'class="flash flash-info"[^>]*>\s*<p class="flash-body">Please sign in', page)
    auth.login()
    page = client.post("/logout", follow_redirects=True).get_data(as_text=True)
    assert 'class="flash flash-success"' in page and "You have signed out." in page


def test_account_page_is_sections_with_their_own_forms(staff_client):
    page = staff_client.get("/account").get_data(as_text=True)
    for section, action in (("details", "/account/details"), ("password", "/account/password")):
        assert f'id="{section}"' in page and f'action="{action}"' in page
    assert 'value="Sam Staff"' in page and "staff@example.com" in page
    answer = staff_client.get("/account/password")
    assert answer.status_code == 302 and answer.headers["Location"] == "/account#password"


def test_renaming_oneself(app, staff_client, staff):
    answer = staff_client.post("/account/details", data={"name": "  Samantha Staff "})
    assert answer.status_code == 302
    with app.app_context():
        assert db.session.get(User, staff.id).name == "Samantha Staff"
    bad = staff_client.post("/account/details", data={"name": "x" * 201})
    assert bad.status_code == 422 and "Use at most 200 characters." in bad.get_data(as_text=True)


def test_a_wrong_password_change_stays_on_the_account_page(staff_client):
    answer = staff_client.post(
        "/account/password",
        data={"current_password": "wrong", "new_password": "x", "new_password_confirm": "x"},
    )
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "<h1>Account</h1>" in page and 'id="e-' in page


@pytest.mark.parametrize(
    ("status", "title"),
    [
        (403, "You can&#39;t open this page"),
        (404, "We couldn&#39;t find that page"),
        (410, "This is no longer available"),
        (429, "Too many requests"),
    ],
)
def test_friendly_error_pages_in_the_apps_layout(app, staff, status, title):
    @app.get(f"/boom-{status}")
    def boom():  # type: ignore[no-untyped-def]
        abort(status)

    client = sign_in(app.test_client(), staff.id)
    answer = client.get(f"/boom-{status}")
    assert answer.status_code == status
    page = answer.get_data(as_text=True)
    assert f'<h1 id="error-title">{title}</h1>' in page
    assert 'id="app-nav"' in page and "Back to the dashboard" in page


def test_a_500_is_friendly_and_logged(app, staff, caplog):
    @app.get("/crash")
    def crash():  # type: ignore[no-untyped-def]
        raise RuntimeError("kaput")

    client = sign_in(app.test_client(), staff.id)
    answer = client.get("/crash")
    assert answer.status_code == 500
    page = answer.get_data(as_text=True)
    assert "Something went wrong on our side" in page and "kaput" not in page
    assert 'id="app-nav"' in page
    assert "unhandled error on GET /crash" in caplog.text


def test_a_view_own_reason_is_kept(app, staff_client):
    page = staff_client.get("/requests/srq_none").get_data(as_text=True)
    assert "No Scheduling Request has that id." in page


def test_signed_out_visitors_get_the_page_without_the_staff_shell(client):
    answer = client.get("/no-such-page")
    assert answer.status_code == 404
    page = answer.get_data(as_text=True)
    assert "We couldn&#39;t find that page" in page and 'id="app-nav"' not in page


def test_json_errors_stay_json(client, admin_client):
    answer = client.get("/api/v1/nothing-here")
    assert answer.status_code == 404 and answer.is_json
    assert answer.get_json()["error"]["code"] == "not_found"
    answer = client.get("/webhooks/cronofy")
    assert answer.status_code == 405 and answer.is_json


def test_first_run_registers_the_sandbox_link_in_one_click(sandbox_app, staff):
    client = sign_in(sandbox_app.test_client(), staff.id)
    page = client.get("/").get_data(as_text=True)
    steps = page.split('<ol class="steps">')[1].split("</ol>")[0]
    assert re.search(r'<form method="post" action="/public-links/sandbox"', steps)
    answer = client.post("/public-links/sandbox")
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    with sandbox_app.app_context():
        link = db.session.execute(select(PublicLink)).scalar_one()
        assert link.name == "Sandbox demo" and link.url == "http://localhost/sandbox/pls/demo"
        assert link.owner_id == staff.id
    page = client.get("/").get_data(as_text=True)
    assert "Public Link “Sandbox demo” registered" in page and page.count("Done:") == 1
    again = client.post("/public-links/sandbox", follow_redirects=True).get_data(as_text=True)
    assert "already registered" in again
    with sandbox_app.app_context():
        assert len(db.session.execute(select(PublicLink)).all()) == 1


def test_no_sandbox_no_one_click_link(app, staff_client):
    assert staff_client.post("/public-links/sandbox").status_code == 404
    with app.app_context():
        assert db.session.execute(select(PublicLink)).first() is None


def test_one_vocabulary_for_cronofy_types_and_visits():
    assert humanize_type("scheduling_request_time_chosen") == "Booked"
    assert humanize_type("time_chosen") == "Booked"
    assert humanize_type("scheduling_request_rescheduled") == "Rescheduled"
    assert humanize_type("declined") == "Declined"
    assert humanize_type("scheduling_request_attendee_no_show") == "Attendee no show"
    assert humanize_type("") == "Unknown"
    assert [status_tone(s) for s in ("time_chosen", "rescheduled", "declined", "odd")] == [
        "success",
        "info",
        "danger",
        "neutral",
    ]
    assert visitor_kind("human") == "person"
    assert {visitor_kind(kind) for kind in ("bot", "preview", "head")} == {"bot or preview"}
    assert visit_outcome("redirect") == "sent to booking page"
    assert visit_outcome("something_new") == "something new"


def test_the_request_page_leads_with_what_a_recruiter_wants(app, staff_client):
    from tests.support.bookings import make_request

    with app.app_context():
        public_link = factories.make_public_link()
        link = factories.make_tracked_link(public_link.id, "cand-7", label="Ada")
        ref = make_request(tracked_link=link)
    page = staff_client.get(f"/requests/{ref.scheduling_request_id}").get_data(as_text=True)
    main = page.split('<main id="main"')[1]
    technical = main.index('<details class="technical">')
    for lead in ("Open in Cronofy", 'id="h-when"', 'id="h-who"', "Copy link", 'id="h-link"'):
        assert main.index(lead) < technical, lead
    # Identifiers and payloads wait, folded, at the end.
    assert main.index(ref.scheduling_request_id, main.index("<h1")) > technical
    assert main.index('<pre class="payload"') > technical
    assert '<details class="technical" open' not in main
