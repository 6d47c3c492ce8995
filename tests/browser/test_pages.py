"""Every page, as an admin, as staff and signed out, at 390, 768 and 1280 px, in Chromium.

For each page: a title, one h1, one main landmark, a label for every field, no console
errors and no Content-Security-Policy violations; at every width no sideways scroll, nothing
cut off, no list, card or form wider than itself, and no value cut short without its text
in a tooltip (tests/browser/audit.py); axe-core finds no serious or critical violation at
390 and 1280 px. A screenshot of every page at every width goes to
tests/browser/screenshots/ (git-ignored) for a person to look at.

One server and one browser page per role for the whole module. The data is made the way
people make it, with values long enough to strain a phone: a 128-character correlation ID,
a long label and email, a bulk upload of 60 links (so lists have more than one page), an
organisation profile with a logo.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import steps
from tests.browser.audit import (
    ConsoleWatch,
    axe_problems,
    layout_problems,
    structure_problems,
)
from tests.browser.harness import DEFAULT_TIMEOUT_MS, generated_secrets, screenshots_on_error

HERE = Path(__file__).resolve().parent
SHOTS = HERE / "screenshots"
WIDTHS = (390, 768, 1280)
AXE_WIDTHS = (390, 1280)
LONG_CORRELATION_ID = ("cand-" + "0123456789abcdef" * 8)[:128]
LONG_LABEL = "Grace Brewster Murray Hopper, Principal Backend Engineer (Platform), second round"
LONG_EMAIL = "grace.brewster.murray.hopper@navy-research.example.com"
STAFF_EMAIL = "sam.staff@example.com"
LOGO_SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="120" height="32">'
    b'<rect width="120" height="32" rx="6" fill="#0f766e"/></svg>'
)
BULK_ROWS = 60
# The webhook endpoint it adds points at a closed port on this machine.
SERVER_ENV = {"WEBHOOK_ALLOW_PRIVATE_TARGETS": "1"}


@dataclass
class Early:
    """A page that exists only for a moment (before the first admin, before the first
    Public Link), audited while the module sets up."""

    structure: list[str]
    layout: dict[int, list[str]]
    axe: dict[int, list[str]]


@dataclass
class Site:
    base_url: str
    states: dict[str, Any]
    urls: dict[str, str] = field(default_factory=dict)
    unbooked_short_url: str = ""
    early: dict[str, Early] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)


def shoot(page: Any, name: str, width: int) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


def sweep_widths(page: Any, name: str) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Layout at every width and axe at two, with a screenshot at each; then every <details>
    opened (folded content must fit too) at the narrowest and widest."""
    layout: dict[int, list[str]] = {}
    axe: dict[int, list[str]] = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.evaluate("() => new Promise((done) => requestAnimationFrame(() => done()))")
        layout[width] = layout_problems(page)
        shoot(page, name, width)
        if width in AXE_WIDTHS:
            axe[width] = axe_problems(page)
    page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    for width in (WIDTHS[0], WIDTHS[-1]):
        page.set_viewport_size({"width": width, "height": 900})
        layout[width] += [f"(details open) {p}" for p in layout_problems(page)]
    page.set_viewport_size({"width": 1280, "height": 900})
    return layout, axe


def audit_early(page: Any, watch: ConsoleWatch, name: str) -> Early:
    structure = structure_problems(page) + watch.problems()
    watch.errors.clear()
    layout, axe = sweep_widths(page, name)
    return Early(structure, layout, axe)


def upload_bulk(page: Any, base_url: str, public_link: str, rows: int) -> str:
    page.goto(base_url + "/links/bulk")
    page.get_by_role("combobox", name="Public Link").select_option(label=public_link)
    content = "correlation_id;label;utm_campaign\r\n" + "".join(
        f"bulk-{n:03d};Candidate {n};spring-fair\r\n" for n in range(1, rows + 1)
    )
    page.get_by_label("CSV file").set_input_files(
        files=[
            {
                "name": "spring-fair.csv",
                "mimeType": "text/csv",
                "buffer": "\ufeff".encode() + content.encode(),
            }
        ]
    )
    page.get_by_role("button", name="Check and create").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{rows} tracked links created")
    return page.url


@pytest.fixture(scope="module")
def site(app_server, browser) -> Iterator[Site]:
    base_url = app_server.base_url
    early = {}
    with screenshots_on_error(browser, "pages-setup") as context:
        page = context.new_page()
        watch = ConsoleWatch(page)
        page.goto(base_url + "/setup")
        early["signed-out-setup"] = audit_early(page, watch, "signed-out-setup")
        steps.create_first_admin(page, base_url)
        early["admin-first-run"] = audit_early(page, watch, "admin-first-run")
        page.goto(base_url + "/public-links")
        early["admin-no-public-links"] = audit_early(page, watch, "admin-no-public-links")
        page.goto(base_url + "/")
        public_link = steps.register_ready_sandbox_link(page)
        booked = steps.new_tracked_link(
            page,
            base_url,
            public_link,
            LONG_CORRELATION_ID,
            label=LONG_LABEL,
            utm_source="spring-graduate-fair-2025-newsletter",
        )
        unbooked = steps.new_tracked_link(page, base_url, public_link, "cand-unbooked")
        switched_off = steps.new_tracked_link(page, base_url, public_link, "cand-switched-off")
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Disable").click()
        expect(page.get_by_role("status").filter(has_text="disabled")).to_be_visible()
        bulk_result = upload_bulk(page, base_url, public_link, BULK_ROWS)

        # What invitees see: the organisation's name, contact and logo.
        page.goto(base_url + "/settings")
        profile = page.get_by_role("region", name="What invitees see")
        steps.labelled(profile, "Organisation name").fill("Acme Recruiting")
        steps.labelled(profile, "Contact email").fill("talent@acme.example")
        profile.get_by_label("Logo file").set_input_files(
            files=[{"name": "logo.svg", "mimeType": "image/svg+xml", "buffer": LOGO_SVG}]
        )
        profile.get_by_role("button", name="Save profile").click()
        expect(page.get_by_role("status").filter(has_text="profile saved")).to_be_visible()

        # An API token, so that the tokens page lists one.
        page.goto(base_url + "/tokens")
        create = page.get_by_role("region", name="Create a token")
        steps.labelled(create, "Name").fill("CRM sync for the spring graduate fair")
        create.get_by_role("button", name="Create token").click()
        expect(page.get_by_role("region", name=re.compile("Your new token"))).to_be_visible()

        # An outbound webhook endpoint that nothing answers: its page shows a failing log.
        page.goto(base_url + "/settings/webhooks/new")
        steps.labelled(page, "URL").fill("http://127.0.0.1:9/hooks/greenhouse-ats-integration")
        steps.labelled(page, "Description").fill("Greenhouse ATS, spring graduate fair pipeline")
        page.get_by_role("button", name="Add endpoint").click()
        page.get_by_role("button", name="Go to the endpoint").click()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        endpoint_url = page.url.removeprefix(base_url)

        # A staff member, added by the admin.
        page.goto(base_url + "/users")
        invite = page.get_by_role("region", name="Add a user")
        steps.labelled(invite, "Email").fill(STAFF_EMAIL)
        steps.labelled(invite, "Name").fill("Sam Staff")
        steps.labelled(invite, "First password").fill(steps.ADMIN_PASSWORD)
        steps.labelled(invite, "First password again").fill(steps.ADMIN_PASSWORD)
        invite.get_by_role("button", name="Add user").click()
        expect(page.get_by_role("status").filter(has_text="Added")).to_be_visible()
        staff_row = page.get_by_role("row").filter(has_text=STAFF_EMAIL)
        user_password_url = staff_row.get_by_role(
            "button", name=re.compile("Set a password")
        ).get_attribute("href")

        invitee = context.browser.new_context()
        try:
            booking = invitee.new_page()
            steps.book(
                booking,
                booked.short_url,
                name=LONG_LABEL[:28],
                email=LONG_EMAIL,
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
        admin_state = context.storage_state()

        staff_context = context.browser.new_context()
        try:
            staff_page = staff_context.new_page()
            steps.sign_in(staff_page, base_url, STAFF_EMAIL)
            own = steps.new_tracked_link(staff_page, base_url, public_link, "sam-own-link")
            staff_state = staff_context.storage_state()
        finally:
            staff_context.close()

    site = Site(
        base_url=base_url,
        states={"admin": admin_state, "staff": staff_state, "signed-out": None},
        unbooked_short_url=unbooked.short_url,
        early=early,
        secrets=generated_secrets(app_server),
    )
    site.urls = {
        "dashboard": "/",
        "dashboard-filtered": "/?q=nobody-matches-this",
        "tracked-links": "/links?owner=all&per_page=25",
        "tracked-links-page-2": "",  # the list's own Next link
        "tracked-link": booked.detail_url,
        "tracked-link-edit": booked.detail_url + "/edit",
        "tracked-link-new": "/links/new",
        "bulk": "/links/bulk",
        "bulk-result": bulk_result,
        "public-links": "/public-links",
        "public-link-new": "/public-links/new",
        "request": detail_url,
        "settings": "/settings",
        "event-log": "/events",
        "event": event_url,
        "users": "/users",
        "user-password": user_password_url,
        "tokens": "/tokens",
        "account": "/account",
        "audit": "/audit",
        "insights": "/insights",
        "webhooks": "/settings/webhooks",
        "webhook-new": "/settings/webhooks/new",
        "webhook": endpoint_url,
        "silence": "/alerts/silence",
        "not-found": "/no-such-page",
        "own-tracked-link": own.detail_url,
        "forbidden": "/settings",
        "login": "/login",
        "link-not-found": "/l/no-such-link",
        "link-switched-off": switched_off.short_url,
        "link-preview": booked.short_url,
        "sandbox-booking": "",
        "sandbox-confirmation": confirmation_url,
        "throttled": "",
    }
    yield site


# (role, page name, expected HTTP status)
PAGES = [
    ("admin", "dashboard", 200),
    ("admin", "dashboard-filtered", 200),
    ("admin", "request", 200),
    ("admin", "tracked-links", 200),
    ("admin", "tracked-links-page-2", 200),
    ("admin", "tracked-link", 200),
    ("admin", "tracked-link-edit", 200),
    ("admin", "tracked-link-new", 200),
    ("admin", "bulk", 200),
    ("admin", "bulk-result", 200),
    ("admin", "public-links", 200),
    ("admin", "public-link-new", 200),
    ("admin", "settings", 200),
    ("admin", "event-log", 200),
    ("admin", "event", 200),
    ("admin", "users", 200),
    ("admin", "user-password", 200),
    ("admin", "tokens", 200),
    ("admin", "account", 200),
    ("admin", "audit", 200),
    ("admin", "insights", 200),
    ("admin", "webhooks", 200),
    ("admin", "webhook-new", 200),
    ("admin", "webhook", 200),
    ("admin", "silence", 200),
    ("admin", "not-found", 404),
    ("staff", "dashboard", 200),
    ("staff", "request", 200),
    ("staff", "tracked-links", 200),
    ("staff", "tracked-link", 200),
    ("staff", "own-tracked-link", 200),
    ("staff", "tracked-link-new", 200),
    ("staff", "public-links", 200),
    ("staff", "tokens", 200),
    ("staff", "account", 200),
    ("staff", "insights", 200),
    ("staff", "forbidden", 403),
    ("signed-out", "login", 200),
    ("signed-out", "not-found", 404),
    ("signed-out", "link-not-found", 404),
    ("signed-out", "link-switched-off", 410),
    ("signed-out", "link-preview", 200),
    ("signed-out", "sandbox-booking", 200),
    ("signed-out", "sandbox-confirmation", 200),
    ("signed-out", "throttled", 429),
]
INVITEE_PAGES = {
    "link-not-found",
    "link-switched-off",
    "link-preview",
    "sandbox-booking",
    "sandbox-confirmation",
}
EARLY = ["signed-out-setup", "admin-first-run", "admin-no-public-links"]
PREVIEW_AGENT = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"


@pytest.fixture(scope="module")
def role_pages(site, browser) -> Iterator[dict[str, tuple[Any, ConsoleWatch]]]:
    """One page per role (and one posing as a link-preview bot), reused page after page,
    each with a watch on its console and CSP reports."""
    contexts, pages = [], {}
    for role, state in [*site.states.items(), ("preview-bot", None)]:
        options: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}
        if state:
            options["storage_state"] = state
        if role == "preview-bot":
            options["user_agent"] = PREVIEW_AGENT
        context = browser.new_context(**options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        pages[role] = (page, ConsoleWatch(page))
    yield pages
    for context in contexts:
        context.close()


def open_named(site: Site, page: Any, name: str) -> int:
    """Open the named page; returns the HTTP status it answered."""
    if name == "sandbox-booking":
        steps.open_booking_page(page, site.unbooked_short_url)  # every click: a fresh token
        return 200
    if name == "tracked-links-page-2":
        page.goto(site.base_url + site.urls["tracked-links"])
        with page.expect_response(re.compile(r"/links\?")) as answer:
            pager = page.get_by_role("navigation", name="Pagination")
            pager.get_by_role("button", name="Next").click()
        return answer.value.status
    if name == "throttled":
        return throttle(page, site.base_url)
    url = site.urls[name]
    response = page.goto(url if url.startswith("http") else site.base_url + url)
    assert response is not None
    return response.status


def throttle(page: Any, base_url: str) -> int:
    """Fail to sign in until the throttle answers (429); the last sweep of the module."""
    for _ in range(30):
        page.goto(base_url + "/login")
        steps.labelled(page, "Email").fill("nobody@example.com")
        steps.labelled(page, "Password").fill("not the password at all")
        with page.expect_response(re.compile(r"/login$")) as answer:
            page.get_by_role("button", name="Sign in").click()
        if answer.value.status == 429:
            return 429
    return answer.value.status


@pytest.mark.parametrize("name", EARLY)
def test_early_pages(site, name):
    early = site.early[name]
    assert early.structure == [], f"{name}: {early.structure}"
    report = [f"at {w} px: {p}" for w in WIDTHS for p in early.layout[w]]
    report += [f"axe at {w} px: {p}" for w in AXE_WIDTHS for p in early.axe[w]]
    assert report == [], f"{name}:\n" + "\n".join(report)


@pytest.mark.parametrize(("role", "name", "status"), PAGES, ids=[f"{r}-{n}" for r, n, _ in PAGES])
def test_page_at_every_width(site, role_pages, role, name, status):
    page, watch = role_pages["preview-bot" if name == "link-preview" else role]
    watch.errors.clear()  # this page's own errors only
    answered = open_named(site, page, name)
    assert answered == status, f"{role} {name}: HTTP {answered}"
    if name == "dashboard":
        expect(page.locator(".live-indicator")).to_have_text("Live")
    problems = structure_problems(page)
    html = page.content()
    leaked = [secret for secret, value in site.secrets.items() if value in html]
    assert leaked == [], f"{name} shows {leaked} to the browser"
    layout, axe = sweep_widths(page, f"{role}-{name}")
    report = [f"structure: {p}" for p in problems]
    report += [f"at {w} px: {p}" for w in WIDTHS for p in layout[w]]
    report += [f"axe at {w} px: {p}" for w in AXE_WIDTHS for p in axe[w]]
    # A page answered with its error status is logged by Chromium as a failed load: the
    # status itself is checked above; a sub-resource failing is still reported.
    document = f"({page.url})"
    report += [
        problem
        for problem in watch.problems()
        if not (
            problem.startswith("console error: Failed to load resource")
            and problem.endswith(document)
        )
    ]
    assert report == [], f"{role} {name} ({page.url}):\n" + "\n".join(report)
    if name in INVITEE_PAGES:
        # Invitees never get a way into the staff app, and see who sent them the link.
        assert page.locator("a[href*='/login'], a[href*='/setup']").count() == 0
        expect(page.get_by_role("img", name="Acme Recruiting")).to_be_visible()
