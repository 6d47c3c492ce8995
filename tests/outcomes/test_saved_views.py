"""Saved views on the requests and tracked-links pages: per person, optionally shared."""

from __future__ import annotations

import re

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AuditEvent, SavedView


def save(client, page, name, query, shared=False, next_="/"):
    data = {"page": page, "name": name, "query": query, "next": next_}
    if shared:
        data["shared"] = "1"
    return client.post("/views", data=data)


def chips(html: str) -> list[str]:
    return re.findall(r'<li class="view-chip[^"]*">\s*<a href="([^"]+)"[^>]*>([^<]+)<', html)


def test_a_view_keeps_the_filters_and_opens_them(client, auth, admin, staff):
    auth.login()
    answer = save(
        client, "requests", "  Booked,   mine ", "status=time_chosen&owner=mine&cursor=abc&evil=1"
    )
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/?status=time_chosen&owner=mine"
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert chips(page) == [("/?status=time_chosen&amp;owner=mine", "Booked, mine")]
    assert 'aria-current="true"' in page  # the view being looked at


def test_views_are_per_person_unless_shared(app, client, auth, admin, staff):
    auth.login()
    save(client, "links", "Mine to chase", "owner=mine&state=clicked_not_booked")
    save(client, "links", "Team campaign", "q=spring", shared=True)
    save(client, "requests", "Requests only", "status=declined")
    auth.logout()
    auth.login("staff@example.com")
    links_page = client.get("/links?owner=all").get_data(as_text=True)
    assert [name for _, name in chips(links_page)] == ["Team campaign"]
    assert "shared by Ada Admin" in links_page
    assert 'aria-label="Delete the saved view Team campaign"' not in links_page  # not theirs
    assert [name for _, name in chips(client.get("/").get_data(as_text=True))] == []


def test_saving_under_the_same_name_replaces_the_view(app, client, auth, admin):
    auth.login()
    save(client, "requests", "Mine", "owner=mine")
    save(client, "requests", "Mine", "owner=mine&status=declined")
    with app.app_context():
        views = db.session.execute(select(SavedView)).scalars().all()
        entries = (
            db.session.execute(
                select(AuditEvent.changes).where(AuditEvent.action == "saved_view.saved")
            )
            .scalars()
            .all()
        )
    assert [(v.name, v.query) for v in views] == [("Mine", "owner=mine&status=declined")]
    assert entries[-1] == {"query": ["owner=mine", "owner=mine&status=declined"]}


def test_deleting_is_for_the_owner_only(app, client, auth, admin, staff):
    auth.login()
    save(client, "links", "Shared", "q=x", shared=True)
    with app.app_context():
        view_id = db.session.execute(select(SavedView.id)).scalar_one()
    auth.logout()
    auth.login("staff@example.com")
    assert client.post(f"/views/{view_id}/delete").status_code == 404
    auth.logout()
    auth.login()
    answer = client.post(f"/views/{view_id}/delete", data={"next": "/links?q=x"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/links?q=x"
    with app.app_context():
        assert db.session.execute(select(SavedView)).first() is None
        deleted = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "saved_view.deleted")
        ).scalar_one()
    assert deleted.target_name == "Shared" and deleted.actor_email == "admin@example.com"


def test_a_nameless_view_is_not_saved(app, client, auth, admin):
    auth.login()
    answer = save(client, "requests", "   ", "status=x", next_="/?status=x")
    assert answer.headers["Location"] == "/?status=x"
    assert "The view was not saved: Give the view a name." in client.get("/").get_data(as_text=True)
    assert client.post("/views", data={"page": "users", "name": "x"}).status_code == 400
    with app.app_context():
        assert db.session.execute(select(SavedView)).first() is None
