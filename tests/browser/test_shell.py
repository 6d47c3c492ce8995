"""The app shell with the keyboard alone, and a bulk upload sent twice, in Chromium.

- On a phone the navigation is behind a menu button: Enter opens it and moves the focus to
  its first link, Escape closes it and gives the focus back; the account menu works the same
  way and closes when the focus leaves it. On a laptop the navigation is always there.
- A bulk upload sent twice (a double click, then the back button and the form sent again)
  makes one batch of links.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from tests.browser import steps
from tests.browser.harness import DEFAULT_TIMEOUT_MS, screenshots_on_error


@pytest.fixture(scope="module")
def signed_in(app_server, browser) -> Iterator[dict[str, Any]]:
    with screenshots_on_error(browser, "shell-setup") as context:
        page = context.new_page()
        public_link = steps.set_up_install(page, app_server.base_url)
        state = context.storage_state()
    yield {"state": state, "public_link": public_link}


def open_as_admin(browser: Any, signed_in: dict[str, Any], base_url: str, width: int) -> Any:
    context = browser.new_context(
        viewport={"width": width, "height": 900}, storage_state=signed_in["state"]
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    page.goto(base_url + "/")
    return page


def focused(page: Any) -> str:
    """What has the focus: its accessible text, for messages and comparisons."""
    return page.evaluate(
        "() => { const el = document.activeElement;"
        " return (el.getAttribute('aria-label') || el.textContent).trim(); }"
    )


def test_phone_navigation_with_the_keyboard_alone(app_server, browser, signed_in):
    page = open_as_admin(browser, signed_in, app_server.base_url, 390)
    try:
        menu = page.get_by_role("button", name="Menu", exact=True)
        nav = page.get_by_role("navigation", name="Main")
        expect(menu).to_have_attribute("aria-expanded", "false")
        expect(nav).to_be_hidden()

        page.keyboard.press("Tab")
        assert focused(page) == "Skip to content"
        page.keyboard.press("Tab")
        expect(menu).to_be_focused()
        page.keyboard.press("Enter")
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(nav).to_be_visible()
        expect(nav.get_by_role("link", name="Requests")).to_be_focused()

        page.keyboard.press("Tab")
        expect(nav.get_by_role("link", name="Tracked links")).to_be_focused()
        page.keyboard.press("Escape")
        expect(nav).to_be_hidden()
        expect(menu).to_have_attribute("aria-expanded", "false")
        expect(menu).to_be_focused()

        page.keyboard.press("Space")
        expect(nav).to_be_visible()
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/links"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Tracked links")
        expect(page.get_by_role("navigation", name="Main")).to_be_hidden()  # closed on arrival
    finally:
        page.context.close()


def open_own_session(browser: Any, base_url: str, width: int) -> Any:
    """A browser signed in on a session of its own: signing it out (which ends the session
    on the server) leaves the shared one the other tests reuse."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    steps.sign_in(page, base_url)
    return page


def test_account_menu_with_the_keyboard_alone(app_server, browser, signed_in):
    page = open_own_session(browser, app_server.base_url, 390)
    try:
        account = page.get_by_role("button", name=re.compile("Account menu for Ada Admin"))
        panel = page.locator("#user-menu")
        account.focus()
        page.keyboard.press("Enter")
        expect(account).to_have_attribute("aria-expanded", "true")
        expect(panel.get_by_role("link", name="Account")).to_be_focused()
        expect(panel).to_contain_text("admin@example.com")
        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        expect(account).to_be_focused()

        # Tabbing past its last item closes it (once open, focus starts on its first item).
        page.keyboard.press("Enter")
        expect(panel.get_by_role("link", name="Account")).to_be_focused()
        for _ in range(4):  # Account, Email notifications, API tokens, Sign out
            page.keyboard.press("Tab")
        expect(panel).to_be_hidden()
        expect(account).to_have_attribute("aria-expanded", "false")

        account.focus()
        page.keyboard.press("Enter")
        expect(panel.get_by_role("link", name="Account")).to_be_focused()
        for _ in range(3):  # from Account to Sign out
            page.keyboard.press("Tab")
        expect(panel.get_by_role("button", name="Sign out")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
        signed_out = page.get_by_role("status").filter(has_text="You have signed out")
        expect(signed_out).to_be_visible()
    finally:
        page.context.close()


def test_laptop_navigation_is_always_there(app_server, browser, signed_in):
    page = open_as_admin(browser, signed_in, app_server.base_url, 1280)
    try:
        expect(page.get_by_role("button", name="Menu", exact=True)).to_be_hidden()
        nav = page.get_by_role("navigation", name="Main")
        expect(nav).to_be_visible()
        expect(nav.get_by_role("link", name="Requests")).to_have_attribute("aria-current", "page")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name=re.compile("Account menu"))).to_be_focused()
        page.keyboard.press("Tab")
        expect(nav.get_by_role("link", name="Requests")).to_be_focused()
        # The focus ring is there to see.
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline == "solid"
    finally:
        page.context.close()


def batch_count(app_server) -> int:
    engine = create_engine(app_server.database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM link_batches")).scalar_one()
    finally:
        engine.dispose()


def test_a_bulk_upload_sent_twice_makes_one_batch(app_server, browser, signed_in):
    page = open_as_admin(browser, signed_in, app_server.base_url, 1280)
    try:
        page.goto(app_server.base_url + "/links/bulk")
        page.get_by_role("combobox", name="Public Link").select_option(
            label=signed_in["public_link"]
        )
        rows = "".join(f"twice-{n},Candidate {n}\r\n" for n in range(12))
        upload = {
            "name": "twice.csv",
            "mimeType": "text/csv",
            "buffer": ("correlation_id,label\r\n" + rows).encode(),
        }
        page.get_by_label("CSV file").set_input_files(files=[upload])
        page.get_by_role("button", name="Check and create").dblclick()
        expect(page.get_by_role("heading", level=1)).to_have_text("12 tracked links created")
        result_url = page.url
        assert batch_count(app_server) == 1

        # Back to the form, and the same file sent again.
        page.go_back()
        expect(page.get_by_role("heading", level=1)).to_have_text("Tracked links from a CSV")
        page.get_by_role("combobox", name="Public Link").select_option(
            label=signed_in["public_link"]
        )
        page.get_by_label("CSV file").set_input_files(files=[upload])
        page.get_by_role("button", name="Check and create").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("12 tracked links created")
        assert page.url == result_url
        already = page.get_by_role("status").filter(has_text="nothing new was created")
        expect(already).to_be_visible()
        page.reload()
        expect(page.get_by_role("heading", level=1)).to_have_text("12 tracked links created")
        assert batch_count(app_server) == 1

        page.get_by_role("button", name="View these 12 links").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Tracked links")
        expect(page.locator("table.data-table tbody tr")).to_have_count(12)
    finally:
        page.context.close()
