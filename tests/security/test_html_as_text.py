"""HTML in any user- or Cronofy-supplied value shows as text on every page that shows it.

Staff type it (Public Link name, tracked link label, correlation ID and UTM values, user
names, token names); Cronofy relays what invitees typed (summary, recipient names and
emails, captured answers, metadata) and names types the app has never seen. Every page,
the live stream's row HTML and the flashes must show it escaped; CSV exports are not HTML,
but no cell may start a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from markupsafe import escape
from sqlalchemy import select

from tests.security.strategies import HTML
from tests.support import factories
from tests.support.deliveries import post_signed
from tests.support.signin import sign_in
from webapp.extensions import db
from webapp.models import Delivery, PublicLink, TrackedLink, User, utcnow
from webapp.tracking.tokens import mint_claim_token

ESCAPED = str(escape(HTML))
RAW_MARKERS = ("<script>alert(1)", "<img src=x", "onerror=alert(1)>")
# The address itself carries markup (written straight to the table: the form refuses it).
HTML_EMAIL = "<script>alert(1)</script><img src=x onerror=alert(1)>@example.com"
UNMATCHED_ID = "srq_<script>alert(1)</script>"
JAVASCRIPT_LINK = re.compile(r"""(href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.I)


def text_only(page: str, where: str, *, shows: bool = True) -> None:
    for marker in RAW_MARKERS:
        assert marker not in page, f"{where}: {marker!r} reached the page unescaped"
    assert not JAVASCRIPT_LINK.search(page), f"{where}: a javascript: link"
    if shows:
        assert ESCAPED in page, f"{where}: the value is not shown (escaped) at all"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def notification(
    srq: str, correlation_id: str, *, kind: str, at: datetime, start: str | None = None
) -> dict:
    scheduler = {key: HTML for key in ("utm_source", "utm_campaign", "utm_content")}
    scheduler.update(
        {
            "correlation_id": correlation_id,
            "captured_data.<b>favourite</b>": HTML,
            "captured_data.notes": HTML,
        }
    )
    return {
        "notification": {"type": kind, "triggered_at": iso(at)},
        "scheduling_request": {
            "scheduling_request_id": srq,
            "slot_selection": "<i>complete</i>",
            "dashboard_url": "javascript:alert(1)",
            "recipient_operations": {
                "view_url": "javascript:alert(1)",
                "reschedule_url": "JaVaScRiPt:alert(1)",
                "decline_url": " javascript:alert(1)",
            },
            "summary": HTML,
            "duration": {"minutes": 30},
            "recipients": [
                {
                    "email": HTML,
                    "display_name": HTML,
                    "select_url": "javascript:alert(1)",
                    "slot_selector": True,
                }
            ],
            "event": {
                "summary": HTML,
                "start": start,
                "metadata": {"scheduler": scheduler},
            },
        },
    }


@pytest.fixture
def html_world(sec_app):
    """Every kind of value holds HTML; returns the admin's client and the ids to visit."""
    app = sec_app
    with app.app_context():
        factories.make_user(email="admin@example.com", role="admin", name=HTML)
        owner = factories.make_user(email=HTML_EMAIL, role="staff", name="")
    admin = sign_in(app.test_client(), "admin@example.com")
    flashes = []

    response = admin.post(
        "/public-links/new",
        data={"name": HTML, "url": "https://app.cronofy.com/pls/HTML1"},
        follow_redirects=True,
    )
    flashes.append(("public link flash", response))
    with app.app_context():
        public_link_id = db.session.scalar(select(PublicLink.id).where(PublicLink.name == HTML))
        assert public_link_id, "the Public Link form refused the name"
        owned = factories.make_tracked_link(
            public_link_id, correlation_id="corr-owner", created_by_id=owner.id, label=HTML
        )
        owned_id = owned.id
    form = {"public_link_id": str(public_link_id), "correlation_id": HTML, "label": HTML}
    form.update({key: HTML for key in ("utm_source", "utm_medium", "utm_campaign")})
    response = admin.post("/links/new", data=form, follow_redirects=True)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    flashes.append(("tracked link flash", response))
    with app.app_context():
        link = db.session.scalar(select(TrackedLink).where(TrackedLink.correlation_id == HTML))
        assert link is not None, "the tracked link form refused the values"
        link_id, slug = link.id, link.slug
    flashes.append(("token page", admin.post("/tokens", data={"name": HTML})))
    response = admin.post(
        "/users",
        data={
            "email": "named@example.com",
            "name": HTML,
            "role": "staff",
            "password": "a long enough password",
            "password_confirm": "a long enough password",
        },
        follow_redirects=True,
    )
    flashes.append(("user flash", response))

    secret = app.config["CLIENT_SECRETS"][0]
    now = utcnow()
    bodies = [
        notification(
            "srq_html_1",
            HTML,
            kind="scheduling_request_time_chosen",
            at=now - timedelta(minutes=5),
            start=HTML,
        ),
        notification(
            "srq_html_1", HTML, kind="scheduling_request_" + HTML, at=now - timedelta(minutes=4)
        ),
        notification(UNMATCHED_ID, "<b>unknown</b>" + HTML, kind=HTML, at=now),
        notification("srq_html_owner", "corr-owner", kind="scheduling_request_time_chosen", at=now),
    ]
    broken = notification("srq_html_broken", HTML, kind="scheduling_request_x", at=now)
    broken["notification"]["triggered_at"] = HTML  # its error message quotes the value
    bodies.append(broken)
    client = app.test_client()
    for body in bodies:
        assert post_signed(client, json.dumps(body).encode(), secret).status_code == 200
    with app.app_context():
        delivery_ids = list(db.session.scalars(select(Delivery.id).order_by(Delivery.id)))
        owner_id = owner.id
        named_id = db.session.scalar(select(User.id).where(User.email == "named@example.com"))
        db.session.remove()
    return {
        "app": app,
        "admin": admin,
        "flashes": flashes,
        "public_link_id": public_link_id,
        "link_id": link_id,
        "owned_id": owned_id,
        "slug": slug,
        "delivery_ids": delivery_ids,
        "owner_id": owner_id,
        "named_id": named_id,
    }


def test_every_page_shows_the_values_as_text(html_world):
    admin = html_world["admin"]
    for where, response in html_world["flashes"]:
        text_only(response.get_data(as_text=True), where)
    shown = [
        "/",
        "/?q=alert",
        "/requests/srq_html_1",
        "/requests/" + quote(UNMATCHED_ID, safe=""),
        "/requests/srq_html_owner",
        "/events",
        "/links",
        "/links?owner=all&q=alert",
        f"/links/{html_world['link_id']}",
        f"/links/{html_world['owned_id']}",
        "/links/new",
        "/links/bulk",
        "/public-links",
        f"/public-links/{html_world['public_link_id']}/edit",
        "/users",
        "/tokens",
        f"/users/{html_world['named_id']}/password",
    ]
    shown += [f"/events/{delivery_id}" for delivery_id in html_world["delivery_ids"]]
    for path in shown:
        response = admin.get(path)
        assert response.status_code == 200, path
        text_only(response.get_data(as_text=True), path)
    # Pages that may not show the values, but must not run them either.
    for path in ("/settings", "/account/password", "/requests/" + quote(HTML, safe="")):
        text_only(admin.get(path).get_data(as_text=True), path, shows=False)


def test_owner_email_answer_names_and_unknown_types_are_text(html_world):
    admin = html_world["admin"]
    dashboard = admin.get("/").get_data(as_text=True)
    assert str(escape(HTML_EMAIL)) in dashboard  # the owner column shows the address
    detail = admin.get("/requests/srq_html_1").get_data(as_text=True)
    assert "&lt;b&gt;favourite&lt;/b&gt;" in detail  # a captured answer's name
    # The latest type, unknown and full of markup, is the status: humanised, as text.
    assert f">{ESCAPED}</span>" in detail
    password_page = admin.get(f"/users/{html_world['owner_id']}/password")
    text_only(password_page.get_data(as_text=True), "password page")
    assert str(escape(HTML_EMAIL)) in password_page.get_data(as_text=True)


def test_the_live_stream_rows_are_escaped(html_world):
    response = html_world["admin"].get("/live/stream?cursor=0")
    assert response.status_code == 200
    body = response.get_data(as_text=True)  # the stream ends after SSE_MAX_DURATION
    rows = []
    for message in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in message.splitlines() if ": " in line)
        if fields.get("event") == "row":
            rows.append(json.loads(fields["data"]))
    assert {row["id"] for row in rows} >= {"srq_html_1", UNMATCHED_ID, "srq_html_owner"}
    for row in rows:
        text_only(row["html"], f"stream row {row['id']}", shows=row["id"] != "srq_html_owner")


def test_invitee_pages_show_the_values_as_text(html_world):
    app = html_world["app"]
    bot = app.test_client().get(f"/l/{html_world['slug']}", headers={"User-Agent": "Slackbot"})
    text_only(bot.get_data(as_text=True), "link preview", shows=False)
    token = mint_claim_token(
        embed_public_key=app.config["CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY"],
        embed_secret=app.config["CRONOFY_SCHEDULER_EMBED_SECRET"],
        now=utcnow(),
        lifetime_seconds=600,
    ).token
    invitee = app.test_client()
    page = invitee.get(
        "/sandbox/pls/HTML1",
        query_string={"claim_token": token, "correlation_id": HTML, "utm_source": HTML},
    )
    assert page.status_code == 200
    text_only(page.get_data(as_text=True), "sandbox booking page", shows=False)
    html = page.get_data(as_text=True)
    jti = re.search(r'name="jti" value="([^"]+)"', html).group(1)
    slot = re.search(r'name="slot" value="([^"]+)"', html).group(1)
    booked = invitee.post(
        "/sandbox/pls/HTML1",
        data={"jti": jti, "slot": slot, "name": HTML, "email": "ada@example.com", "notes": HTML},
        follow_redirects=True,
    )
    assert booked.status_code == 200
    text_only(booked.get_data(as_text=True), "sandbox confirmation page")
    login = app.test_client().get("/login", query_string={"next": "/" + HTML})
    text_only(login.get_data(as_text=True), "login page with next", shows=False)


FORMULAS = ('=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(1)", "\t=1", "\r=1")


def formula_cells(text: str) -> list[str]:
    return [
        cell
        for row in csv.reader(io.StringIO(text))
        for cell in row
        if cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    ]


def test_csv_exports_start_no_formula(sec_app):
    app = sec_app
    with app.app_context():
        factories.make_user(email="admin@example.com", role="admin", name="+Admin")
    admin = sign_in(app.test_client(), "admin@example.com")
    with app.app_context():
        public_link = factories.make_public_link(name="@Interviews")
        for number, formula in enumerate(FORMULAS):
            factories.make_tracked_link(
                public_link.id,
                correlation_id=f"{formula}{number}",
                label=formula,
                utm_source=formula,
                utm_campaign=formula,
            )
    secret = app.config["CLIENT_SECRETS"][0]
    client = app.test_client()
    for number, formula in enumerate(FORMULAS):
        body = notification(
            f"srq_formula_{number}",
            f"{formula}{number}",
            kind="scheduling_request_time_chosen",
            at=utcnow(),
        )
        request = body["scheduling_request"]
        request["summary"] = request["event"]["summary"] = formula
        request["recipients"] = [{"email": formula, "display_name": formula}]
        assert post_signed(client, json.dumps(body).encode(), secret).status_code == 200
    requests_csv = admin.get("/requests/export.csv").get_data(as_text=True)
    assert requests_csv.count("\n") > len(FORMULAS)
    assert formula_cells(requests_csv) == [], "requests export"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["correlation_id", "label", "utm_source"])
    writer.writerows(
        [f"bulk{number}", formula, formula] for number, formula in enumerate(FORMULAS[:4])
    )
    upload = buffer.getvalue()
    bulk = admin.post(
        "/links/bulk",
        data={
            "public_link_id": str(public_link.id),
            "file": (io.BytesIO(upload.encode()), "links.csv"),
        },
        content_type="multipart/form-data",
    )
    assert bulk.status_code == 303, bulk.get_data(as_text=True)[:300]
    bulk_csv = admin.get(bulk.headers["Location"] + "/links.csv").get_data(as_text=True)
    assert bulk_csv.count("\n") == 5
    assert formula_cells(bulk_csv) == [], "bulk upload's CSV back"
    links_csv = admin.get("/links/export.csv?owner=all").get_data(as_text=True)
    assert links_csv.count("\n") > len(FORMULAS)
    assert formula_cells(links_csv) == [], "tracked links export"
