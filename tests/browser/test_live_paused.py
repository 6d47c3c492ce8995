"""Issue 9 §2: when the server refuses the live stream (too many open streams), the page says
live updates are paused and offers a refresh, instead of a table that silently stops.

One worker and one stream per person, so the second tab of the same person is refused."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser import steps

SERVER_ENV = {"LIVE_STREAMS_PER_USER": "1"}
SERVER_WORKERS = 1


def indicator(page):  # type: ignore[no-untyped-def]
    return page.locator(".live-indicator")


def test_a_refused_stream_shows_paused_with_a_refresh_that_brings_it_back(app_server, context):
    first = context.new_page()
    steps.create_first_admin(first, app_server.base_url)
    expect(indicator(first)).to_have_attribute("data-state", "live")
    refresh_first = first.get_by_role("button", name="Refresh")
    expect(refresh_first).to_be_hidden()

    second = context.new_page()  # the same person, a second tab: over their cap
    second.goto(app_server.base_url + "/")
    expect(second.get_by_role("heading", level=1)).to_have_text("Scheduling Requests")
    expect(indicator(second)).to_have_attribute("data-state", "paused")
    paused = second.get_by_role("status").filter(has_text="Live updates paused")
    expect(paused).to_contain_text("this table may be out of date")
    refresh = second.get_by_role("button", name="Refresh")
    expect(refresh).to_be_visible()

    first.close()  # its stream ends, and its slot is given back within a second or so
    for _attempt in range(5):
        refresh.click()
        expect(second.get_by_role("heading", level=1)).to_have_text("Scheduling Requests")
        try:
            expect(indicator(second)).to_have_attribute("data-state", "live", timeout=3000)
            break
        except AssertionError:
            continue
    expect(indicator(second)).to_have_attribute("data-state", "live")
    expect(refresh).to_be_hidden()
