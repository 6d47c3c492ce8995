"""The whole journey over real HTTP: gunicorn serves the app with the sandbox on; an invitee
follows a tracked link, books, reschedules and declines; the sandbox's notifications reach
the app's own receiver, and the Scheduling Request follows each step."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import httpx
import pytest

from tests.support import factories
from tests.support.sandbox import hidden, slot_keys
from tests.support.server import eventually, running_server, server_env
from tests.support.signin import BROWSER_UA as BROWSER
from webapp import create_app
from webapp.extensions import db
from webapp.models import SandboxBooking, SchedulingRequest


@pytest.mark.timeout(180)
def test_booking_journey_reaches_the_receiver(tmp_path):
    env = server_env(tmp_path, WEBAPP_SANDBOX="1")
    with running_server(tmp_path, env=env) as server:
        # A second app instance on the server's database plays the staff member's part.
        staff_app = create_app(
            {
                "TESTING": True,
                "INSTANCE_PATH": str(tmp_path / "staff-instance"),
                "DATABASE_URL": server.database_url,
                "SECRET_KEY": secrets.token_hex(16),
                "WEBAPP_SANDBOX": False,
            }
        )
        code = "e2e-" + secrets.token_hex(3)
        correlation_id = "corr-e2e-" + secrets.token_hex(3)
        with staff_app.app_context():
            owner = factories.make_user(email=f"owner-{code}@example.com")
            link = factories.make_public_link(
                owner_id=owner.id,
                name="Sandbox interviews",
                url=f"{server.base_url}/sandbox/pls/{code}",
            )
            tracked = factories.make_tracked_link(
                link.id,
                correlation_id=correlation_id,
                created_by_id=owner.id,
                utm_source="newsletter",
            )
            slug, tracked_id = tracked.slug, tracked.id

        def request_row() -> SchedulingRequest | None:
            with staff_app.app_context():
                row = db.session.scalar(
                    db.select(SchedulingRequest).where(
                        SchedulingRequest.correlation_id == correlation_id
                    )
                )
                if row is not None:
                    db.session.expunge(row)
                return row

        def has_status(status: str) -> Callable[[], SchedulingRequest | None]:
            def read() -> SchedulingRequest | None:
                row = request_row()
                return row if row is not None and row.status == status else None

            return read

        headers = {"User-Agent": BROWSER}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as invitee:
            redirect = invitee.get(f"/l/{slug}")
            assert redirect.status_code == 302, redirect.text[:500]
            booking_url = redirect.headers["Location"]
            assert booking_url.startswith(f"{server.base_url}/sandbox/pls/{code}?")
            assert f"correlation_id={correlation_id}" in booking_url

            page = invitee.get(booking_url)
            assert page.status_code == 200, page.text[:1000]
            assert "simulated Cronofy, no real booking" in page.text

            # The same URL in another browser is a replay of the claim token.
            with httpx.Client(headers=headers, timeout=10) as stranger:
                replay = stranger.get(booking_url)
            assert replay.status_code == 403
            assert "replayed" in replay.text

            slots = slot_keys(page.text)
            confirm = invitee.post(
                f"/sandbox/pls/{code}",
                data={
                    "csrf_token": hidden(page.text, "csrf_token"),
                    "jti": hidden(page.text, "jti"),
                    "slot": slots[0],
                    "name": "Grace Hopper",
                    "email": "grace@example.com",
                    "phone_number": "+1 555 0100",
                    "notes": "Prefers video.",
                },
            )
            assert confirm.status_code == 303, confirm.text[:1000]
            confirmation_path = confirm.headers["Location"]

            chosen = eventually(has_status("time_chosen"))
            assert chosen is not None, f"no time_chosen row; server log:\n{server.log()[-3000:]}"
            with staff_app.app_context():
                booking = db.session.scalar(
                    db.select(SandboxBooking).where(SandboxBooking.correlation_id == correlation_id)
                )
                srq_id = booking.scheduling_request_id
            assert chosen.scheduling_request_id == srq_id
            assert chosen.tracked_link_id == tracked_id
            assert chosen.utm.get("utm_source") == "newsletter"
            assert chosen.summary == "Sandbox interviews with Grace Hopper"

            details = invitee.get(confirmation_path)
            assert details.status_code == 200
            moved = invitee.post(
                confirmation_path + "/reschedule",
                data={
                    "csrf_token": hidden(details.text, "csrf_token"),
                    "slot": slot_keys(details.text)[-1],
                },
            )
            assert moved.status_code == 303, moved.text[:1000]
            rescheduled = eventually(has_status("rescheduled"))
            assert rescheduled is not None, server.log()[-3000:]
            assert rescheduled.scheduling_request_id == srq_id

            details = invitee.get(confirmation_path)
            declined_answer = invitee.post(
                confirmation_path + "/decline",
                data={"csrf_token": hidden(details.text, "csrf_token")},
            )
            assert declined_answer.status_code == 303
            declined = eventually(has_status("declined"))
            assert declined is not None, server.log()[-3000:]
            assert declined.scheduling_request_id == srq_id
            assert declined.notification_count == 3
        assert "Traceback" not in server.log(), server.log()[-3000:]
        with staff_app.app_context():
            db.engine.dispose()
