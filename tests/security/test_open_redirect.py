"""Open redirects: no request input can send a visitor anywhere the app did not choose.

`/l/<slug>` always redirects to the stored Public Link URL's scheme, host and path, whatever
the query string, the path, or X-Forwarded-* headers say (TRUSTED_PROXIES=0); the query it
adds is the app's own. A Host outside TRUSTED_HOSTS gets 400 and no redirect at all.
Every `next` the app honours stays on this site.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urljoin, urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.security.strategies import fuzz, hostile_text
from tests.support import factories
from tests.support.signin import sign_in
from tests.support.world import PUBLIC_LINK_URL

BROWSER = {"User-Agent": "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Safari/605.1.15"}
EVIL = "evil.example"
BOOKING = urlsplit(PUBLIC_LINK_URL)
REDIRECT_KEYS = ["next", "url", "redirect", "redirect_uri", "return_to", "dest", "continue"]
OWN_KEYS = ["claim_token", "correlation_id", "utm_source", "utm_medium", "keep"]

targets = st.one_of(
    st.sampled_from(
        [
            f"https://{EVIL}/",
            f"//{EVIL}",
            f"/\\{EVIL}",
            f"https://app.cronofy.com.{EVIL}/pls/x",
            f"https://app.cronofy.com@{EVIL}/pls/x",
            "https://app-uk.cronofy.com/pls/OTHER",
            "javascript:alert(1)",
        ]
    ),
    hostile_text,
)
hostile_headers = st.fixed_dictionaries(
    {},
    optional={
        "Host": st.sampled_from([EVIL, f"{EVIL}:443", "app.cronofy.com"]),
        "X-Forwarded-Host": st.sampled_from([EVIL, f"app.cronofy.com.{EVIL}"]),
        "X-Forwarded-Proto": st.sampled_from(["http", "javascript", "https"]),
        "X-Forwarded-Prefix": st.sampled_from([f"//{EVIL}", "/x"]),
        "Forwarded": st.just(f"host={EVIL};proto=https"),
        "X-Original-URL": st.just(f"https://{EVIL}/"),
        "X-Rewrite-URL": st.just(f"//{EVIL}/"),
        "Referer": st.just(f"https://{EVIL}/"),
    },
)
path_prefixes = st.sampled_from(["/l/", "/l//", "//l/", "/l/%2F", "/./l/", "/x/../l/"])
path_suffixes = st.sampled_from(
    ["", "/", f"/{EVIL}", f"%2F%2F{EVIL}", f"/%2F%2F{EVIL}", "/..", "%00", ";x", "/." + EVIL]
)


def booking_redirect_problem(response, correlation_id: str) -> str | None:  # type: ignore[no-untyped-def]
    """None when the answer is not a redirect, or is exactly the stored booking URL plus
    the app's own parameters."""
    if response.status_code not in (301, 302, 303, 307, 308):
        return None
    location = urlsplit(response.headers["Location"])
    if (location.scheme, location.netloc, location.path) != (
        BOOKING.scheme,
        BOOKING.netloc,
        BOOKING.path,
    ):
        return f"redirect to {location.geturl()!r}, not the Public Link"
    query = parse_qs(location.query, keep_blank_values=True)
    if set(query) != {"keep", "claim_token", "correlation_id", "utm_source"}:
        return f"unexpected query keys {sorted(query)}"
    if query["keep"] != ["1"] or query["utm_source"] != ["email"]:
        return f"the stored values changed: {query}"
    if query["correlation_id"] != [correlation_id]:
        return f"correlation_id became {query['correlation_id']}"
    return None


@fuzz(200)
@given(
    query=st.dictionaries(
        st.one_of(st.sampled_from(REDIRECT_KEYS + OWN_KEYS), st.text(max_size=8)),
        targets,
        max_size=4,
    ),
    headers=hostile_headers,
    prefix=path_prefixes,
    suffix=path_suffixes,
)
@example(query={"next": f"https://{EVIL}/"}, headers={"Host": EVIL}, prefix="/l/", suffix="")
@example(query={"correlation_id": "x", "claim_token": "x"}, headers={}, prefix="/l/", suffix="")
@example(query={}, headers={"X-Forwarded-Host": EVIL}, prefix="/l/", suffix="")
@example(query={}, headers={"Host": EVIL}, prefix="/l//", suffix="")
@example(query={}, headers={"Host": EVIL}, prefix="//l/", suffix="")
def test_tracked_link_redirect_cannot_be_steered(world, query, headers, prefix, suffix):
    client = world.app.test_client()
    response = client.get(
        f"{prefix}{world.slug}{suffix}", query_string=query, headers={**BROWSER, **headers}
    )
    assert response.status_code in (302, 400, 404), response.status_code
    if "Host" in headers:  # every Host the strategy sends is outside TRUSTED_HOSTS
        assert response.status_code == 400
    elif prefix == "/l/" and suffix == "":
        assert response.status_code == 302  # the link still works, whatever came with it
    assert booking_redirect_problem(response, world.correlation_id) is None, (
        booking_redirect_problem(response, world.correlation_id),
        query,
        headers,
        suffix,
    )


@pytest.mark.parametrize(
    "slug", [f"%2F%2F{EVIL}", quote(f"https://{EVIL}", safe=""), f"..%2F..%2F{EVIL}", "%5C" + EVIL]
)
def test_a_slug_shaped_like_a_url_is_simply_unknown(world, slug):
    response = world.app.test_client().get(f"/l/{slug}", headers=BROWSER)
    assert response.status_code == 404
    assert "Location" not in response.headers


# -- `next` and the other redirect targets a request carries ---------------------------------

TRICKY_NEXT = [
    f"//{EVIL}",
    f"///{EVIL}",
    f"////{EVIL}/",
    f"/\\{EVIL}",
    f"\\\\{EVIL}",
    f"\\/{EVIL}",
    f"https://{EVIL}",
    f"https:{EVIL}",
    f"https:/{EVIL}",
    f"http:\\\\{EVIL}",
    f"//{EVIL}@localhost",
    f"http://localhost@{EVIL}",
    f"/\t/{EVIL}",
    f"/\n/{EVIL}",
    f"/\r\nLocation: https://{EVIL}",
    f" //{EVIL}",
    f"\x00//{EVIL}",
    f"%2F%2F{EVIL}",
    f"/%2F%2F{EVIL}",
    f"/%5C{EVIL}",
    f"{EVIL}",
    f"@{EVIL}",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    f"/login?next=//{EVIL}",
    f"/\u3002{EVIL}",
    f"//{EVIL}%2F..",
    "/" + "a" * 5000,
]


def same_site_problem(location: str) -> str | None:
    """None when a browser following Location stays on this site."""
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in location) or "\\" in location:
        return f"control character or backslash in {location!r} (browsers drop or flip them)"
    parts = urlsplit(location)
    if parts.scheme or parts.netloc:
        if (parts.scheme, parts.netloc) not in (("http", "localhost"),):
            return f"{location!r} leaves the site"
        return None
    if not location.startswith("/") or location.startswith("//"):
        return f"{location!r} is not a path on this site"
    if urlsplit(urljoin("http://localhost/login", location)).netloc != "localhost":
        return f"{location!r} resolves to another host"
    return None


def test_sign_in_next_never_leads_off_site(world):
    failures = []
    for target in TRICKY_NEXT:
        client = world.app.test_client()
        response = client.post(
            "/login",
            data={"email": "staff@example.com", "password": factories.PASSWORD, "next": target},
        )
        if response.status_code != 302:
            failures.append(f"{target!r}: sign-in answered {response.status_code}")
        elif problem := same_site_problem(response.headers["Location"]):
            failures.append(f"{target!r}: after sign-in, {problem}")
        # Signed in already: the login page sends the visitor on, by the same rule.
        again = client.get("/login", query_string={"next": target})
        if again.status_code != 302:
            failures.append(f"{target!r}: the login page answered {again.status_code}")
        elif problem := same_site_problem(again.headers["Location"]):
            failures.append(f"{target!r}: from the login page, {problem}")
    assert not failures, "\n".join(failures)


def test_event_log_forms_return_only_to_the_event_log(world):
    client = sign_in(world.app.test_client(), "admin@example.com")
    failures = []
    for target in TRICKY_NEXT:
        for path in ("/events/reprocess-failed", f"/events/{world.failed_delivery_id}/reprocess"):
            response = client.post(path, data={"next": target})
            location = response.headers.get("Location", "")
            if response.status_code != 302:
                failures.append(f"{path} next={target!r}: {response.status_code}")
            elif problem := same_site_problem(location):
                failures.append(f"{path} next={target!r}: {problem}")
            elif not urlsplit(location).path.startswith("/events"):
                failures.append(f"{path} next={target!r}: went to {location!r}")
    assert not failures, "\n".join(failures)


def test_first_run_setup_next_never_leads_off_site(app):
    client = app.test_client()
    for target in TRICKY_NEXT[:12]:
        page = client.get("/login", query_string={"next": target})
        assert page.status_code == 302
        assert same_site_problem(page.headers["Location"]) is None
        assert urlsplit(page.headers["Location"]).path == "/setup"
