"""What a person does in the app, step by step, with Playwright locators by role and label.

Shared by the journey test and the layout/accessibility test's setup. Each step checks what
the person would see before going on, so a failure says which step broke.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import expect

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery staple"


def labelled(scope: Any, text: str) -> Any:
    """The field labelled exactly `text`; a required field's label ends in an "*" that only
    sighted users get (aria-hidden), so it may follow."""
    return scope.get_by_label(re.compile(rf"^\s*{re.escape(text)}(\s*\*)?\s*$"))


@dataclass(frozen=True)
class TrackedLink:
    correlation_id: str
    short_url: str
    detail_url: str


def create_first_admin(page: Any, base_url: str, email: str = ADMIN_EMAIL) -> None:
    """A fresh install: opening the app leads to /setup, which makes the first admin."""
    page.goto(base_url + "/")
    expect(page).to_have_url(re.compile(r"/setup"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up the dashboard")
    labelled(page, "Email").fill(email)
    labelled(page, "Name").fill("Ada Admin")
    labelled(page, "Password").fill(ADMIN_PASSWORD)
    labelled(page, "Password again").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Create admin account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Scheduling Requests")


def sign_in(page: Any, base_url: str, email: str = ADMIN_EMAIL) -> None:
    page.goto(base_url + "/login")
    labelled(page, "Email").fill(email)
    labelled(page, "Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Scheduling Requests")


def register_ready_sandbox_link(page: Any) -> str:
    """On the first-run dashboard, register the sandbox's ready Public Link in one click."""
    guide = page.get_by_role("region", name=re.compile("three steps to the first one"))
    guide.get_by_role("button", name="Register the ready sandbox link").click()
    flash = page.get_by_role("status").filter(has_text="registered")
    expect(flash).to_contain_text("Sandbox demo")
    return "Sandbox demo"


def register_offered_sandbox_link(page: Any) -> str:
    """On the Public Link form, take the sandbox link it offers; returns the link's name."""
    expect(page.get_by_role("heading", level=1)).to_have_text("Register a Public Link")
    page.get_by_role("button", name="Use this sandbox link").click()
    name = labelled(page, "Name").input_value()
    assert name, "the sandbox offer should fill in a name"
    expect(labelled(page, "Public Link URL")).to_have_value(re.compile(r"/sandbox/pls/"))
    page.get_by_role("button", name="Register", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Public Links")
    expect(page.get_by_role("cell", name=name, exact=True)).to_be_visible()
    return name


def fill_tracked_link_form(
    page: Any, *, public_link: str, correlation_id: str, label: str, utm_source: str
) -> TrackedLink:
    """Fill and submit the New tracked link form; read the short URL from the link's page."""
    expect(page.get_by_role("heading", level=1)).to_have_text("New tracked link")
    chooser = page.get_by_role("combobox", name="Public Link", exact=True)
    if not chooser.input_value():
        chooser.select_option(label=public_link)
    labelled(page, "Correlation ID").fill(correlation_id)
    labelled(page, "Label").fill(label)
    labelled(page, "Source (utm_source)").fill(utm_source)
    page.get_by_role("button", name="Create tracked link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(correlation_id)
    share = page.get_by_role("region", name="Short URL to share")
    short_url = share.locator("code").inner_text().strip()
    assert re.fullmatch(r"https?://[^/]+/l/[A-Za-z0-9_-]+", short_url), short_url
    expect(share.get_by_role("button", name=re.compile(r"^Copy link"))).to_be_visible()
    return TrackedLink(correlation_id=correlation_id, short_url=short_url, detail_url=page.url)


def open_booking_page(page: Any, short_url: str) -> None:
    """The invitee clicks the short link and lands on the (sandbox) booking page."""
    page.goto(short_url)
    expect(page).to_have_url(re.compile(r"/sandbox/pls/[^?]+\?.*claim_token="))
    expect(page.get_by_role("heading", level=1)).to_have_text("Pick a time")


def fill_booking(page: Any, *, name: str, email: str, phone: str | None = None) -> None:
    slots = page.get_by_role("radio")
    expect(slots.first).to_be_visible()
    assert slots.count() >= 3, "the sandbox offers a few time slots"
    labelled(page, "Your name").fill(name)
    labelled(page, "Email").fill(email)
    if phone is not None:
        labelled(page, "Phone number (optional)").fill(phone)
    slots.first.check()


def confirm_booking(page: Any) -> None:
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your booking")


def book(page: Any, short_url: str, *, name: str, email: str, phone: str | None = None) -> None:
    open_booking_page(page, short_url)
    fill_booking(page, name=name, email=email, phone=phone)
    confirm_booking(page)


def request_row(page: Any, correlation_id: str) -> Any:
    """The live table's row for a correlation ID."""
    return (
        page.get_by_role("table", name=re.compile("Scheduling Requests"))
        .get_by_role("row")
        .filter(has_text=correlation_id)
    )


def set_up_install(page: Any, base_url: str) -> str:
    """The shortest way to a working install: first admin and the offered sandbox Public
    Link. Returns the Public Link's name; the page stays signed in."""
    create_first_admin(page, base_url)
    page.goto(base_url + "/public-links/new")
    return register_offered_sandbox_link(page)


def new_tracked_link(
    page: Any,
    base_url: str,
    public_link: str,
    correlation_id: str,
    *,
    label: str = "",
    utm_source: str = "",
) -> TrackedLink:
    page.goto(base_url + "/links/new")
    return fill_tracked_link_form(
        page,
        public_link=public_link,
        correlation_id=correlation_id,
        label=label,
        utm_source=utm_source,
    )
