"""The whole journey in a real Chromium, as a newcomer walks it with no Cronofy account.

Staff (context A) set up the first admin, follow the empty dashboard's guidance, register the
offered sandbox Public Link and create a tracked link, then keep the dashboard open. The
invitee (context B, its own cookies) opens the short link, books, reschedules and declines on
the sandbox booking page. The open dashboard follows each step by itself, without a reload.
"""

from __future__ import annotations

import re
import time
from typing import Any

from playwright.sync_api import expect

from tests.browser import steps

CORRELATION_ID = "cand-4711-journey"
LABEL = "Grace Hopper, backend role"
UTM_SOURCE = "newsletter"
# The dashboard must show a new or changed row within this many seconds of the invitee's
# confirmation page (within a second; the sandbox sends from a background thread).
LIVE_DEADLINE = 2.0
NO_RELOAD = "window.__noReload === 1"


def row_status_is(status: str) -> str:
    """A JS predicate: the correlation ID's row shows this status badge."""
    return f"""() => {{
        for (const row of document.querySelectorAll("table[data-live-table] tbody tr")) {{
            if (row.textContent.includes({CORRELATION_ID!r})
                && row.querySelector(".badge")?.textContent.trim() === {status!r}) return true;
        }}
        return false;
    }}"""


def wait_for_row(staff: Any, status: str, since: float) -> float:
    """Seconds from `since` until the open dashboard shows the row with that status.

    Polled every 50 ms in the page, so the measurement is tight; the timeout is generous so
    a slow run reports the real delay instead of a bare timeout.
    """
    staff.wait_for_function(row_status_is(status), polling=50, timeout=15_000)
    elapsed = time.monotonic() - since
    assert staff.evaluate(NO_RELOAD), "the dashboard reloaded; rows must arrive live"
    return elapsed


def test_newcomer_journey_shows_bookings_live(app_server, new_context):
    base_url = app_server.base_url
    staff = new_context().new_page()

    # First run: the app leads to /setup; the dashboard then explains what to do.
    steps.create_first_admin(staff, base_url)
    banner = staff.get_by_role("status").filter(has_text="Sandbox mode")
    expect(banner).to_be_visible()
    # One short line: what live mode needs is on the settings page, for admins.
    expect(banner).not_to_contain_text("CRONOFY_")
    guide = staff.get_by_role("region", name=re.compile("three steps to the first one"))
    expect(guide).to_be_visible()
    expect(guide).to_contain_text("sandbox")
    expect(staff.get_by_role("table", name=re.compile("Scheduling Requests"))).to_be_hidden()

    # Step 1: a Public Link: the sandbox's ready one, in one click.
    expect(guide.get_by_role("button", name="Add a Public Link")).to_be_visible()
    public_link = steps.register_ready_sandbox_link(staff)
    guide = staff.get_by_role("region", name=re.compile("three steps to the first one"))
    expect(guide.get_by_text("Done:")).to_have_count(1)

    # Step 2: a tracked link for it, with a typed correlation ID, a label and a UTM value.
    guide.get_by_role("button", name="Create a tracked link").click()
    link = steps.fill_tracked_link_form(
        staff,
        public_link=public_link,
        correlation_id=CORRELATION_ID,
        label=LABEL,
        utm_source=UTM_SOURCE,
    )
    assert link.short_url.startswith(base_url + "/l/")

    # The dashboard stays open from here on; a reload would clear this marker.
    staff.get_by_role("navigation", name="Main").get_by_role("link", name="Requests").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Scheduling Requests")
    expect(staff.locator(".live-indicator")).to_have_text("Live")
    expect(guide.get_by_text("Done:")).to_have_count(2)  # Public Link and tracked link
    staff.evaluate("window.__noReload = 1")

    # Step 3: the invitee, in a browser of their own, books through the short link.
    invitee = new_context().new_page()
    steps.open_booking_page(invitee, link.short_url)
    expect(invitee.get_by_role("note")).to_contain_text("Sandbox")
    expect(invitee.get_by_text(CORRELATION_ID)).to_be_visible()
    steps.fill_booking(invitee, name="Grace Hopper", email="grace@example.com", phone="+1 555 0100")
    clicked = time.monotonic()
    steps.confirm_booking(invitee)
    confirmed = time.monotonic()
    expect(invitee.get_by_role("status").filter(has_text="Booked")).to_be_visible()

    seen_after = wait_for_row(staff, "Booked", confirmed)
    print(
        f"time_chosen: row shown {seen_after:.3f} s after the confirmation page loaded "
        f"({time.monotonic() - clicked:.3f} s after the click)"
    )
    assert seen_after <= LIVE_DEADLINE, f"row took {seen_after:.2f} s to appear"
    row = steps.request_row(staff, CORRELATION_ID)
    expect(row).to_have_count(1)
    expect(guide).to_be_hidden()  # the first booking replaces the guidance
    expect(row).to_contain_text("Grace Hopper")
    expect(row).to_contain_text("grace@example.com")
    expect(row.get_by_role("link", name=CORRELATION_ID)).to_be_visible()  # matched to the link
    expect(staff.locator(".live-indicator")).to_have_text("Live")

    # The invitee reschedules: the same row follows.
    invitee.locator("summary", has_text="Reschedule").click()
    reschedule = invitee.locator("#reschedule form")
    reschedule.get_by_role("radio").last.check()
    clicked = time.monotonic()
    reschedule.get_by_role("button", name="Reschedule").click()
    expect(invitee.get_by_role("status").filter(has_text="Rescheduled")).to_be_visible()
    seen_after = wait_for_row(staff, "Rescheduled", clicked)
    print(f"rescheduled: row updated {seen_after:.3f} s after the click")
    assert seen_after <= LIVE_DEADLINE, f"reschedule took {seen_after:.2f} s to show"

    # ... and declines (the page asks first).
    invitee.locator("summary", has_text="Decline").click()
    invitee.once("dialog", lambda dialog: dialog.accept())
    clicked = time.monotonic()
    invitee.get_by_role("button", name="Decline booking").click()
    expect(invitee.get_by_role("heading", level=1)).to_have_text("Booking declined")
    seen_after = wait_for_row(staff, "Declined", clicked)
    print(f"declined: row updated {seen_after:.3f} s after the click")
    assert seen_after <= LIVE_DEADLINE, f"decline took {seen_after:.2f} s to show"
    expect(row).to_have_count(1)  # one Scheduling Request, updated in place
    # Notifications received (a column that narrower screens hide, so found by its label).
    expect(row.locator('td[data-label="Notifications"]')).to_have_text("3")
    assert staff.evaluate(NO_RELOAD)

    # The request's page tells the whole story: three notifications, in order.
    row.get_by_role("link", name=re.compile("Grace Hopper")).click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Grace Hopper")
    timeline = staff.get_by_role("region", name="Activity")
    notifications = timeline.get_by_role("listitem")
    expect(notifications).to_have_count(3)
    for item, kind in zip(notifications.all(), ("Booked", "Rescheduled", "Declined"), strict=True):
        expect(item).to_contain_text(kind)
    answers = staff.get_by_role("region", name="Answers on the booking form")
    expect(answers).to_contain_text("+1 555 0100")
    link_section = staff.get_by_role("region", name="Tracked link and owner")
    expect(link_section).to_contain_text(LABEL)
    expect(link_section).to_contain_text(UTM_SOURCE)
