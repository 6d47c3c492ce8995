"""Looks and access, checked in Chromium on every page staff and invitees see.

Every page: a non-empty title, one h1, one main landmark, a label for every form field, no
console errors and no Content-Security-Policy violations; and at 1280 px and 390 px (the
issue names the dashboard, the tracked-link list and a request's page; the others are as
easy to break): no sideways scroll on the page body and nothing cut off, with every
<details> opened (wide tables scroll inside .table-wrap, on purpose).

One server for the module. Its data is made the way staff make it, with values long enough
to strain a phone screen: a 128-character correlation ID, a long label, a booking.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import steps
from tests.browser.audit import ConsoleWatch, layout_problems, structure_problems
from tests.browser.harness import generated_secrets, screenshots_on_error

# The longest correlation ID Cronofy carries (128 characters), with no place to break.
LONG_CORRELATION_ID = ("cand-" + "0123456789abcdef" * 8)[:128]
LONG_LABEL = "Grace Brewster Murray Hopper, Principal Backend Engineer (Platform), second round"
WIDTHS = (1280, 390)


@dataclass
class Audit:
    """What the checks found on a page that exists only for a moment (before the first
    admin, before the first Public Link), so it is audited while the module sets up."""

    structure: list[str]
    layout: dict[int, list[str]]


@dataclass
class Site:
    base_url: str
    staff_state: dict[str, Any]
    urls: dict[str, str] = field(default_factory=dict)
    unbooked_short_url: str = ""
    early: dict[str, Audit] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)


def audit_now(page: Any, watch: ConsoleWatch) -> Audit:
    structure = structure_problems(page) + watch.problems()
    watch.errors.clear()  # the next early page reports only its own
    layout = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        layout[width] = layout_problems(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    return Audit(structure, layout)


@pytest.fixture(scope="module")
def site(app_server, browser) -> Iterator[Site]:
    base_url = app_server.base_url
    early = {}
    with screenshots_on_error(browser, "layout-setup") as context:
        page = context.new_page()
        watch = ConsoleWatch(page)
        page.goto(base_url + "/setup")
        early["setup"] = audit_now(page, watch)
        steps.create_first_admin(page, base_url)
        early["first-run dashboard"] = audit_now(page, watch)
        page.goto(base_url + "/public-links")
        early["no public links"] = audit_now(page, watch)
        page.goto(base_url + "/public-links/new")
        public_link = steps.register_offered_sandbox_link(page)
        booked = steps.new_tracked_link(
            page,
            base_url,
            public_link,
            LONG_CORRELATION_ID,
            label=LONG_LABEL,
            utm_source="spring-graduate-fair-2025-newsletter",
        )
        unbooked = steps.new_tracked_link(page, base_url, public_link, "cand-unbooked")

        invitee = context.browser.new_context()
        try:
            booking = invitee.new_page()
            steps.book(
                booking,
                booked.short_url,
                name="Grace Brewster Murray Hopper",
                email="grace.brewster.murray.hopper@navy-research.example.com",
                phone="+1 555 0100",
            )
            confirmation_url = booking.url
        finally:
            invitee.close()

        page.goto(base_url + "/")
        row = steps.request_row(page, LONG_CORRELATION_ID)
        expect(row).to_be_visible(timeout=15_000)
        detail_url = row.get_by_role("link", name=re.compile("Grace")).get_attribute("href")
        page.goto(base_url + "/events")
        event_url = page.locator("table a[href*='/events/']").first.get_attribute("href")

        staff_state = context.storage_state()
    site = Site(
        base_url=base_url,
        staff_state=staff_state,
        unbooked_short_url=unbooked.short_url,
        early=early,
        secrets=generated_secrets(app_server),
    )
    site.urls = {
        "dashboard": "/",
        "tracked links": "/links",
        "tracked link form": "/links/new",
        "tracked link": booked.detail_url,
        "bulk tracked links": "/links/bulk",
        "public links": "/public-links",
        "public link form": "/public-links/new",
        "request detail": detail_url,
        "settings": "/settings",
        "event log": "/events",
        "event": event_url,
        "users": "/users",
        "audit log": "/audit",
        "tokens": "/tokens",
        "account password": "/account/password",
        "login": "/login",
        "sandbox confirmation": confirmation_url,
    }
    yield site


ANONYMOUS = {"login", "sandbox booking", "sandbox confirmation"}
STAFF_PAGES = [
    "dashboard",
    "tracked links",
    "tracked link form",
    "tracked link",
    "bulk tracked links",
    "public links",
    "public link form",
    "request detail",
    "settings",
    "event log",
    "event",
    "users",
    "audit log",
    "tokens",
    "account password",
]
EARLY_PAGES = ["setup", "first-run dashboard", "no public links"]
ALL_PAGES = ["login", *EARLY_PAGES, *STAFF_PAGES, "sandbox booking", "sandbox confirmation"]
LAYOUT_PAGES = ALL_PAGES


def open_page(site: Site, name: str, new_context: Any, width: int = 1280) -> tuple[Any, Any]:
    """Open the named page in a fresh context (signed in unless invitees see it)."""
    options: dict[str, Any] = {"viewport": {"width": width, "height": 900}}
    if name not in ANONYMOUS:
        options["storage_state"] = site.staff_state
    page = new_context(**options).new_page()
    watch = ConsoleWatch(page)
    if name == "sandbox booking":
        steps.open_booking_page(page, site.unbooked_short_url)  # every click: a fresh token
    else:
        url = site.urls[name]
        response = page.goto(url if url.startswith("http") else site.base_url + url)
        assert response is not None and response.status == 200, f"{name}: {response.status}"
    if name == "dashboard":
        expect(page.locator(".live-indicator")).to_have_text("Live")
        expect(steps.request_row(page, LONG_CORRELATION_ID)).to_be_visible()
    return page, watch


@pytest.mark.parametrize("name", ALL_PAGES)
def test_page_structure_labels_and_console(site, new_context, name):
    if name in EARLY_PAGES:
        assert site.early[name].structure == []
        return
    page, watch = open_page(site, name, new_context)
    problems = structure_problems(page)
    assert problems == [], f"{name} ({page.url}): {problems}"
    html = page.content()
    leaked = [secret for secret, value in site.secrets.items() if value in html]
    assert leaked == [], f"{name} shows {leaked} to the browser"
    page.wait_for_load_state("load")
    assert watch.problems() == [], f"{name} ({page.url})"


@pytest.mark.parametrize("name", LAYOUT_PAGES)
def test_layout_fits_laptop_and_phone(site, new_context, name):
    if name in EARLY_PAGES:
        problems = site.early[name].layout
    else:
        page, _ = open_page(site, name, new_context, WIDTHS[0])
        # Folded content (a raw payload, the reschedule form) must fit once unfolded too.
        page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
        problems = {}
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            problems[width] = layout_problems(page)
    report = [f"at {width} px: {problem}" for width in WIDTHS for problem in problems[width]]
    assert report == [], f"{name}:\n" + "\n".join(report)


def test_narrow_dashboard_keeps_the_essentials(site, new_context):
    """At 390 px the table scrolls inside its wrapper, and the correlation ID stays readable."""
    page, _ = open_page(site, "dashboard", new_context, 390)
    wrap = page.locator(".table-wrap")
    box = wrap.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 391
    row = steps.request_row(page, LONG_CORRELATION_ID)
    expect(row.get_by_role("link", name=LONG_CORRELATION_ID)).to_be_visible()


BROKEN_PAGE = """<!doctype html><html><head><title> </title></head><body>
<h1>One</h1><h1>Two</h1>
<form><input type="text" name="nameless"><label for="ghost">Ghost</label>
<select aria-describedby="nowhere"><option>x</option></select></form>
<p style="color: red">inline style, refused by the CSP</p>
<div id="wide" class="wide">a box wider than a phone</div>
<div class="table-wrap"><div class="wide">scrolls in its wrapper: fine</div></div>
<script>document.title = "inline script, refused";</script>
</body></html>"""
BROKEN_CSS = ".wide { width: 900px; } .table-wrap { overflow-x: auto; }"


def test_the_checks_catch_what_they_look_for(page):
    """The audit itself can fail: a page with every defect, served with the app's CSP."""
    headers = {"Content-Security-Policy": "default-src 'self'", "Content-Type": "text/html"}

    def serve(route: Any) -> None:
        if route.request.url.endswith(".css"):
            route.fulfill(body=BROKEN_CSS, headers={"Content-Type": "text/css"})
        else:
            body = BROKEN_PAGE.replace("</head>", '<link rel="stylesheet" href="/a.css"></head>')
            route.fulfill(body=body, headers=headers)

    page.route("http://audit.invalid/**", serve)
    watch = ConsoleWatch(page)
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto("http://audit.invalid/")

    structure = "\n".join(structure_problems(page))
    assert "<title> is empty" in structure
    assert "2 <h1> elements" in structure
    assert "0 main landmarks" in structure
    assert "input[name=nameless][type=text] has no label" in structure
    assert 'label for="ghost" has no field' in structure
    assert "points at missing #nowhere" in structure

    layout = layout_problems(page)
    assert any("scrolls sideways" in problem for problem in layout), layout
    assert any("div#wide.wide" in problem for problem in layout), layout
    assert not any("scrolls in its wrapper" in problem for problem in layout), layout

    console = "\n".join(watch.problems())
    assert "CSP violation: style-src-attr" in console, console
    assert "CSP violation: script-src-elem" in console, console
