"""The redirect's faster parts give exactly the answers of the straightforward versions.

- claim tokens assembled by webapp/tracking/tokens.py are PyJWT's tokens, byte for byte;
- the single-scan, cached User-Agent classifier agrees with the original three regexes;
- the lookup on the AUTOCOMMIT engine returns typed rows, never reads a stale snapshot,
  leaves no transaction open and survives engine.dispose();
- the redirect gets every page's security headers, once each.
"""

from __future__ import annotations

import re
import uuid
import warnings
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from tests.support import factories
from webapp.database import autocommit_engine
from webapp.extensions import db
from webapp.models import TrackedLink
from webapp.tracking import lookup
from webapp.tracking.agents import classify_user_agent
from webapp.tracking.tokens import mint_claim_token

NOW = datetime(2030, 5, 17, 12, 0, 0, tzinfo=UTC)


# -- claim tokens ------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    public_key=st.text(min_size=1, max_size=40),
    secret=st.text(min_size=1, max_size=64),
    jti=st.one_of(st.none(), st.text(min_size=1, max_size=40)),
    lifetime=st.integers(min_value=1, max_value=20_000),
    offset=st.integers(min_value=0, max_value=10**9),
)
def test_tokens_are_exactly_what_pyjwt_mints(public_key, secret, jti, lifetime, offset):
    now = datetime(2001, 1, 1, tzinfo=UTC) + timedelta(seconds=offset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns about short keys; Cronofy's are long
        claim = mint_claim_token(
            embed_public_key=public_key,
            embed_secret=secret,
            now=now,
            lifetime_seconds=lifetime,
            jti=jti,
        )
        claims = {
            "iss": public_key,
            "iat": claim.issued_at,
            "exp": claim.expires_at,
            "aud": "public_link",
            "jti": claim.jti,
        }
        expected = jwt.encode(claims, secret, algorithm="HS256")
    assert claim.token == expected


def test_generated_jtis_are_fresh_version_4_uuids():
    jtis = [
        mint_claim_token(
            embed_public_key="EMB_x", embed_secret="ESK_" + "s" * 40, now=NOW, lifetime_seconds=60
        ).jti
        for _ in range(2000)
    ]
    assert len(set(jtis)) == len(jtis)
    for jti in jtis:
        parsed = uuid.UUID(jti)
        assert str(parsed) == jti and parsed.version == 4 and parsed.variant == uuid.RFC_4122


# -- User-Agent classification ------------------------------------------------------------------

# The classifier as it was (three case-insensitive patterns, no cache): the reference.
_PREVIEW = re.compile(
    r"slackbot|slack-imgproxy|twitterbot|facebookexternalhit|facebookcatalog|linkedinbot"
    r"|discordbot|telegrambot|whatsapp|skypeuripreview|microsoft office|ms-office"
    r"|outlook|microsoftpreview|bingpreview|embedly|iframely|redditbot|pinterestbot"
    r"|vkshare|google-pagerenderer|applebot|preview",
    re.IGNORECASE,
)
_BOT = re.compile(
    r"googlebot|google-safety|google-inspectiontool|adsbot|bingbot|baiduspider|duckduckbot"
    r"|safelinks|safe links|proofpoint|mimecast|barracuda|crawler|crawling|spider|scanner"
    r"|\+https?://|bot\b|bot/",
    re.IGNORECASE,
)
_FALSE_BOTS = re.compile(r"\bcubot\b", re.IGNORECASE)


def reference(user_agent):
    text = (user_agent or "").strip()
    if not text:
        return "human"
    if _PREVIEW.search(text):
        return "preview"
    if _BOT.search(_FALSE_BOTS.sub("", text)):
        return "bot"
    return "human"


FRAGMENTS = [
    "Mozilla/5.0 ",
    "(Windows NT 10.0) ",
    "Chrome/126.0 ",
    "Safari/537.36",
    "Slackbot",
    "TwitterBot",
    "PREVIEW",
    "Googlebot/2.1",
    "CUBOT",
    "cubot x19",
    "robot",
    "Bot/",
    "bot ",
    "+https://x",
    "Crawler",
    "SafeLinks",
    "Outlook",
    "spider-man",
    " ",
    "_",
    "/",
    "é",
    # User-Agent is ASCII (RFC 9110 field values); non-ASCII case folding is not compared.
]


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(FRAGMENTS),
            st.text(alphabet=st.characters(max_codepoint=127), max_size=6),
        ),
        max_size=8,
    ).map("".join)
)
def test_the_fast_classifier_agrees_with_the_original(user_agent):
    assert classify_user_agent(user_agent) == reference(user_agent)
    assert classify_user_agent(user_agent) == reference(user_agent)  # and from its cache


def test_very_long_user_agents_are_classified_without_caching():
    agent = "Mozilla/5.0 " + "x" * 5000 + " Googlebot/2.1"
    assert classify_user_agent(agent) == "bot"


# -- the lookup ---------------------------------------------------------------------------------


@pytest.fixture
def links(app):
    with app.app_context():
        public = factories.make_public_link(url="https://app.cronofy.com/pls/abc?x=1")
        plain = factories.make_tracked_link(public.id)
        dated = factories.make_tracked_link(
            public.id,
            utm_source="mail",
            utm_term="t",
            expires_at=datetime(2031, 2, 3, 4, 5, 6, 789000, tzinfo=UTC),
            disabled_at=datetime(2030, 1, 1, tzinfo=UTC),
            allow_repeat_bookings=True,
            booking_view_url="https://app.cronofy.com/view",
        )
        return [plain.slug, dated.slug]


def test_the_lookup_returns_the_link_and_its_public_link(app, links):
    with app.app_context():
        plain = lookup.find_link(links[0])
        dated = lookup.find_link(links[1])
        assert lookup.find_link("no-such-slug") is None
    assert plain.url == "https://app.cronofy.com/pls/abc?x=1" and plain.active is True
    assert plain.expires_at is None and plain.disabled_at is None
    assert plain.allow_repeat_bookings is False and plain.utm_source is None
    assert dated.expires_at == datetime(2031, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
    assert dated.disabled_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert dated.allow_repeat_bookings is True and dated.utm_source == "mail"
    assert dated.booking_view_url == "https://app.cronofy.com/view"


def test_the_lookup_sees_what_was_committed_since_its_last_read(app, links):
    with app.app_context():
        assert lookup.find_link(links[0]).disabled_at is None
        link = db.session.execute(select(TrackedLink).filter_by(slug=links[0])).scalar_one()
        link.disabled_at = NOW
        db.session.commit()
        assert lookup.find_link(links[0]).disabled_at == NOW


def test_the_lookup_runs_outside_any_transaction(app, links):
    """Asked of the database connection as the lookup hands it back to the pool (before
    any reset): in AUTOCOMMIT there is no transaction (no BEGIN before the SELECT, no
    snapshot held)."""
    in_transaction = []

    def on_reset(dbapi_connection, *_args):
        if hasattr(dbapi_connection, "in_transaction"):  # sqlite3
            in_transaction.append(dbapi_connection.in_transaction)
        else:  # psycopg: 0 is IDLE, 2 is INTRANS
            in_transaction.append(dbapi_connection.info.transaction_status != 0)

    with app.app_context():
        engine = autocommit_engine()
        event.listen(engine.pool, "reset", on_reset)
        try:
            for slug in [*links, "no-such-slug"]:
                lookup.find_link(slug)
        finally:
            event.remove(engine.pool, "reset", on_reset)
    assert in_transaction == [False, False, False]


def test_the_lookup_survives_dispose(app, links):
    with app.app_context():
        assert lookup.find_link(links[0]) is not None
        autocommit_engine().dispose()
        assert lookup.find_link(links[0]) is not None


# -- the redirect's headers ---------------------------------------------------------------------


@pytest.mark.parametrize("secure", [False, True])
def test_the_redirect_has_every_page_s_security_headers_once(app_factory, secure):
    """The redirect gets exactly the security headers every other answer gets, each once,
    with its own stricter Referrer-Policy and no-store."""
    app = app_factory(SESSION_COOKIE_SECURE=secure)
    with app.app_context():
        public = factories.make_public_link()
        slug = factories.make_tracked_link(public.id).slug
    client = app.test_client()
    redirect = client.get(f"/l/{slug}", headers={"User-Agent": "Mozilla/5.0"})
    page = client.get("/l/no-such-link")  # a page whose headers come from webapp.security
    assert redirect.status_code == 302 and page.status_code == 404
    own = {"content-type", "content-length", "cache-control", "referrer-policy"}
    shared = [name for name in dict(page.headers) if name.lower() not in own]
    assert "Content-Security-Policy" in shared and "X-Frame-Options" in shared
    assert ("Strict-Transport-Security" in shared) is secure
    for name in shared:
        assert redirect.headers.getlist(name) == page.headers.getlist(name), name
    assert redirect.headers.getlist("Referrer-Policy") == ["no-referrer"]
    assert redirect.headers.getlist("Cache-Control") == ["no-store"]
    assert len(redirect.headers.getlist("Location")) == 1
