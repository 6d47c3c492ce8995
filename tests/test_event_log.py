"""The admin event log: deliveries newest first, filters, pages, reprocessing, refusals."""

from __future__ import annotations

import re

import pytest

from tests.support.deliveries import deliveries, notification_body, post_signed
from webapp.extensions import db
from webapp.models import Delivery
from webapp.webhooks import queries


def test_admin_only(client, staff_client):
    assert staff_client.get("/events").status_code == 403
    assert staff_client.post("/events/reprocess-failed").status_code == 403
    assert staff_client.post("/events/1/reprocess").status_code == 403
    assert staff_client.get("/events/1").status_code == 403


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/events")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_empty_state(admin_client):
    page = admin_client.get("/events").get_data(as_text=True)
    assert "No notification has arrived yet" in page
    assert "0 requests refused in the last 24 hours" in page


def test_lists_every_delivery_newest_first(app, admin_client):
    post_signed(admin_client, notification_body("srq_first"))
    post_signed(admin_client, notification_body("srq_second", type_="scheduling_request_declined"))
    post_signed(admin_client, b"{broken")
    page = admin_client.get("/events").get_data(as_text=True)
    assert page.count("<h1") == 1
    positions = [page.index(marker) for marker in ("Expecting property", "srq_second", "srq_first")]
    assert positions == sorted(positions)
    assert "Booked" in page and "Declined" in page
    assert 'href="/requests/srq_first"' in page
    assert "delivery-failed" in page and "delivery-applied" in page
    assert "body is not JSON" in page
    assert "Reprocess all failed (1)" in page


def test_filter_by_status(admin_client):
    post_signed(admin_client, notification_body("srq_ok"))
    post_signed(admin_client, b"{broken")
    page = admin_client.get("/events?status=failed").get_data(as_text=True)
    assert "body is not JSON" in page and "srq_ok" not in page
    page = admin_client.get("/events?status=applied").get_data(as_text=True)
    assert "srq_ok" in page and "body is not JSON" not in page
    assert "No stale deliveries" in admin_client.get("/events?status=stale").get_data(as_text=True)
    assert "srq_ok" in admin_client.get("/events?status=bogus").get_data(as_text=True)


def test_keyset_pages(app, admin_client):
    for index in range(5):
        post_signed(admin_client, notification_body(f"srq_page_{index}"))
    with app.app_context():
        first = queries.deliveries_page(limit=2)
        second = queries.deliveries_page(cursor=first.next_cursor, limit=2)
        third = queries.deliveries_page(cursor=second.next_cursor, limit=2)
        seen = [d.scheduling_request_id for d in first.items + second.items + third.items]
    assert seen == [f"srq_page_{index}" for index in (4, 3, 2, 1, 0)]
    assert third.next_cursor is None


def test_next_page_link_and_bad_cursor(app, admin_client):
    for index in range(queries.PAGE_SIZE + 1):
        post_signed(admin_client, notification_body(f"srq_many_{index}"))
    page = admin_client.get("/events").get_data(as_text=True)
    assert "srq_many_0<" not in page
    next_url = re.search(r'href="([^"]*cursor=[^"]*)" rel="next"', page).group(1)
    page = admin_client.get(next_url.replace("&amp;", "&")).get_data(as_text=True)
    assert "srq_many_0<" in page and 'rel="prev"' in page
    response = admin_client.get("/events?cursor=not-a-cursor")
    assert response.status_code == 302


def test_reprocess_one_shows_the_error_again(app, admin_client):
    post_signed(admin_client, b"{broken")
    delivery_id = deliveries(app)[0].id
    response = admin_client.post(f"/events/{delivery_id}/reprocess", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert f"Delivery {delivery_id} failed again: body is not JSON" in page


def test_reprocess_one_that_can_now_be_applied(app, admin_client):
    post_signed(admin_client, notification_body("srq_fixed"))
    with app.app_context():
        delivery = db.session.execute(db.select(Delivery)).scalar_one()
        delivery.status, delivery.error = "failed", "Internal error while applying: X"
        db.session.commit()
        delivery_id = delivery.id
    page = admin_client.post(
        f"/events/{delivery_id}/reprocess",
        data={"next": "/events?status=failed"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert f"Delivery {delivery_id} reprocessed: applied." in page
    assert deliveries(app)[0].status == "applied"
    response = admin_client.post(f"/events/{delivery_id}/reprocess")
    assert response.status_code == 302
    assert "already applied" in admin_client.get("/events").get_data(as_text=True)
    assert admin_client.post("/events/9999/reprocess").status_code == 404


def test_reprocess_all_failed(app, admin_client):
    post_signed(admin_client, b"{broken")
    post_signed(admin_client, b"[]")
    page = admin_client.post("/events/reprocess-failed", follow_redirects=True).get_data(
        as_text=True
    )
    assert "Reprocessed 2 delivery(ies): 2 failed." in page
    assert 'data-confirm="Reprocess all 2 failed deliveries?"' in page


def test_reprocess_needs_a_csrf_token(app_factory, admin):
    from tests.support.factories import PASSWORD

    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": token})
    assert client.post("/events/reprocess-failed").status_code == 400
    page = client.get("/events").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/events/reprocess-failed", data={"csrf_token": token})
    assert response.status_code == 302


def test_refused_deliveries_are_counted_and_listed(admin_client):
    body = notification_body()
    post_signed(admin_client, body, header="forged")
    admin_client.post("/webhooks/cronofy", data=body)
    page = admin_client.get("/events").get_data(as_text=True)
    assert "2 requests refused in the last 24 hours" in page
    assert "missing Cronofy-HMAC-SHA256 header" in page
    assert "does not match any configured client secret" in page
    assert "127.0.0.1" in page


@pytest.mark.parametrize("where", ["summary", "name", "answer", "type"])
def test_html_from_cronofy_shows_as_text(app, admin_client, where):
    evil = '<img src=x onerror="alert(1)">'
    body = notification_body(
        "srq_evil",
        type_=evil if where == "type" else "scheduling_request_time_chosen",
        summary=evil if where == "summary" else "Interview",
        recipients=[{"email": "x@example.com", "display_name": evil if where == "name" else "X"}],
    )
    if where == "answer":
        body = body.replace(
            b'"scheduler": {}',
            b'"scheduler": {"captured_data.q": "%s"}' % evil.replace('"', '\\"').encode(),
        )
    post_signed(admin_client, body)
    delivery_id = deliveries(app)[0].id
    for url in ("/events", f"/events/{delivery_id}"):
        page = admin_client.get(url).get_data(as_text=True)
        assert "<img src=x" not in page
    detail = admin_client.get(f"/events/{delivery_id}").get_data(as_text=True)
    assert "&lt;img src=x onerror=" in detail


def test_delivery_detail_shows_the_payload(app, admin_client):
    post_signed(admin_client, notification_body("srq_detail"))
    delivery_id = deliveries(app)[0].id
    page = admin_client.get(f"/events/{delivery_id}").get_data(as_text=True)
    assert "srq_detail" in page and "Booked" in page
    assert '"scheduling_request_id": "srq_detail"' in page.replace("&#34;", '"')
    assert admin_client.get("/events/424242").status_code == 404
