"""GET /l/<slug>: the redirect with a claim token, every refusal, bots, HEAD and visits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
from sqlalchemy import select

from tests.support import factories
from tests.support.signin import sign_in
from webapp.extensions import db
from webapp.models import Visit
from webapp.tracking.agents import BOT, HUMAN, PREVIEW, classify_request, classify_user_agent

BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15"
)
STORED_URL = "https://app.cronofy.com/pls/Q5-ZDPM8?lang=en&theme=a%20b"


@pytest.fixture
def link(app):
    """A tracked link whose correlation ID and UTM values need encoding."""
    with app.app_context():
        public = factories.make_public_link(url=STORED_URL)
        tracked = factories.make_tracked_link(
            public.id,
            correlation_id="cand 42 & co/ü=日本",
            utm_source="news letter",
            utm_campaign="spring&summer=ünï",
            utm_content="a+b#c",
        )
        return {"slug": tracked.slug, "id": tracked.id, "public_id": public.id}


def visits(app, link_id):
    with app.app_context():
        rows = (
            db.session.execute(
                select(Visit).where(Visit.tracked_link_id == link_id).order_by(Visit.id)
            )
            .scalars()
            .all()
        )
        return [(v.agent_class, v.outcome, v.jti) for v in rows]


def test_redirect_carries_a_valid_token_and_encoded_metadata(app, client, link):
    before = int(datetime.now(UTC).timestamp())
    response = client.get(f"/l/{link['slug']}", headers={"User-Agent": BROWSER})
    after = int(datetime.now(UTC).timestamp())
    assert response.status_code == 302
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"

    location = response.headers["Location"]
    parts = urlsplit(location)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "app.cronofy.com", "/pls/Q5-ZDPM8")
    # The stored URL's own query comes first, untouched.
    assert parts.query.startswith("lang=en&theme=a%20b&claim_token=")
    # Every value is percent-encoded: no raw space, unicode, or stray & / = / #.
    assert " " not in location and "#" not in location and location.isascii()
    query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)
    values = dict(query)
    assert [key for key, _ in query] == [
        "lang",
        "theme",
        "claim_token",
        "correlation_id",
        "utm_source",
        "utm_campaign",
        "utm_content",
    ]
    assert values["theme"] == "a b"
    assert values["correlation_id"] == "cand 42 & co/ü=日本"
    assert values["utm_source"] == "news letter"
    assert values["utm_campaign"] == "spring&summer=ünï"
    assert values["utm_content"] == "a+b#c"

    token = values["claim_token"]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(
        token,
        app.config["CRONOFY_SCHEDULER_EMBED_SECRET"],
        algorithms=["HS256"],
        audience="public_link",
        options={"require": ["exp", "iat", "iss", "aud", "jti"]},
        leeway=0,
    )
    assert claims["iss"] == app.config["CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY"]
    assert claims["aud"] == "public_link"
    assert isinstance(claims["iat"], int) and isinstance(claims["exp"], int)
    assert claims["iat"] <= before and claims["iat"] >= before - 120  # a little in the past
    assert claims["exp"] > after
    assert claims["exp"] - claims["iat"] <= 4 * 3600
    assert claims["exp"] - claims["iat"] == app.config["CLAIM_TOKEN_TTL"]
    assert uuid.UUID(claims["jti"])
    assert app.config["CRONOFY_SCHEDULER_EMBED_SECRET"] not in location

    assert visits(app, link["id"]) == [("human", "redirect", claims["jti"])]


def test_each_click_gets_a_fresh_jti_and_counts(app, client, link):
    tokens = set()
    for _ in range(3):
        location = client.get(f"/l/{link['slug']}", headers={"User-Agent": BROWSER}).headers[
            "Location"
        ]
        tokens.add(dict(parse_qsl(urlsplit(location).query))["claim_token"])
    assert len(tokens) == 3
    recorded = visits(app, link["id"])
    assert len({jti for _, _, jti in recorded}) == 3


def test_ttl_from_config(app_factory):
    app = app_factory(CLAIM_TOKEN_TTL=600)
    with app.app_context():
        public = factories.make_public_link()
        slug = factories.make_tracked_link(public.id).slug
    location = app.test_client().get(f"/l/{slug}").headers["Location"]
    token = dict(parse_qsl(urlsplit(location).query))["claim_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 600


def test_curl_is_a_person(app, client, link):
    response = client.get(f"/l/{link['slug']}", headers={"User-Agent": "curl/8.5.0"})
    assert response.status_code == 302 and "claim_token=" in response.headers["Location"]


def test_unknown_slug_is_404_and_records_nothing(app, client):
    response = client.get("/l/does-not-exist", headers={"User-Agent": BROWSER})
    assert response.status_code == 404
    assert "could not find this booking link" in response.get_data(as_text=True)
    assert client.get("/l/" + "x" * 300).status_code == 404
    with app.app_context():
        assert db.session.execute(select(Visit)).first() is None


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        ({"disabled_at": datetime(2024, 1, 1, tzinfo=UTC)}, "switched off"),
        ({"expires_at": datetime(2024, 1, 1, tzinfo=UTC)}, "expired"),
        ("inactive", "switched off"),
    ],
)
def test_dead_links_answer_410_without_a_token(app, client, link, change, phrase):
    if change == "inactive":
        from webapp.models import PublicLink

        with app.app_context():
            db.session.get(PublicLink, link["public_id"]).active = False
            db.session.commit()
    else:
        factories.update_link(app, link["id"], **change)
    response = client.get(f"/l/{link['slug']}", headers={"User-Agent": BROWSER})
    assert response.status_code == 410
    text = response.get_data(as_text=True)
    assert "no longer available" in text and phrase in text
    assert "claim_token" not in text and "Location" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    assert visits(app, link["id"]) == [("human", "refused", None)]


def test_a_future_expiry_still_redirects(app, client, link):
    factories.update_link(app, link["id"], expires_at=datetime.now(UTC) + timedelta(hours=1))
    assert client.get(f"/l/{link['slug']}").status_code == 302


def test_head_gets_no_token_and_is_not_a_click(app, client, link):
    response = client.head(f"/l/{link['slug']}", headers={"User-Agent": BROWSER})
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    assert visits(app, link["id"]) == [("head", "preview", None)]


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", PREVIEW),
        ("Twitterbot/1.0", PREVIEW),
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", PREVIEW),
        (
            "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
            PREVIEW,
        ),
        ("Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", PREVIEW),
        ("TelegramBot (like TwitterBot)", PREVIEW),
        ("WhatsApp/2.23.20.0", PREVIEW),
        ("Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.12026; Pro)", PREVIEW),
        ("Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5", PREVIEW),
        (
            "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/534+ (KHTML, like Gecko) "
            "BingPreview/1.0b",
            PREVIEW,
        ),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", BOT),
        ("Google-Safety", BOT),
        ("Microsoft SafeLinks scanner", BOT),
        ("SomeCrawler/3.0", BOT),
        ("acme-spider", BOT),
        ("AcmeBot/1.0", BOT),
        ("curl/8.5.0", HUMAN),
        (BROWSER, HUMAN),
        (
            "Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36 Chrome/120 "
            "Mobile Safari/537.36",
            HUMAN,
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0 Safari/537.36",
            HUMAN,
        ),
        ("", HUMAN),
        (None, HUMAN),
    ],
)
def test_agent_classification(agent, expected):
    assert classify_user_agent(agent) == expected


def test_head_is_never_a_click_whoever_sends_it():
    assert classify_request("HEAD", BROWSER) == "head"
    assert classify_request("GET", BROWSER) == HUMAN


@pytest.mark.parametrize(
    ("agent", "agent_class"),
    [
        ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "preview"),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"),
    ],
)
def test_bots_get_a_continue_page_no_token_no_click(app, client, link, agent, agent_class):
    response = client.get(f"/l/{link['slug']}", headers={"User-Agent": agent})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Continue to booking" in text
    assert f'href="/l/{link["slug"]}"' in text
    assert "claim_token" not in text and "Location" not in response.headers
    assert visits(app, link["id"]) == [(agent_class, "preview", None)]


def test_no_embed_credentials_is_503_for_the_invitee(app_factory):
    app = app_factory(CRONOFY_SCHEDULER_EMBED_SECRET=None)
    with app.app_context():
        public = factories.make_public_link()
        tracked = factories.make_tracked_link(public.id)
        slug, link_id = tracked.slug, tracked.id
    response = app.test_client().get(f"/l/{slug}", headers={"User-Agent": BROWSER})
    assert response.status_code == 503
    assert "unavailable" in response.get_data(as_text=True)
    assert "Location" not in response.headers
    assert visits(app, link_id) == [("human", "unavailable", None)]


def test_booked_link_goes_to_the_booking_without_a_token(app, client, link):
    view_url = "https://app.cronofy.com/scheduling_requests/srq_1/view?x=1"
    factories.update_link(app, link["id"], booking_view_url=view_url)
    response = client.get(f"/l/{link['slug']}", headers={"User-Agent": BROWSER})
    assert response.status_code == 302
    assert response.headers["Location"] == view_url
    assert response.headers["Cache-Control"] == "no-store"
    assert visits(app, link["id"]) == [("human", "booked", None)]

    factories.update_link(app, link["id"], allow_repeat_bookings=True)
    again = client.get(f"/l/{link['slug']}", headers={"User-Agent": BROWSER})
    assert "claim_token=" in again.headers["Location"]


def test_visits_are_listed_and_only_people_count_as_clicks(app, client, link, staff):

    client.get(f"/l/{link['slug']}", headers={"User-Agent": BROWSER})
    client.get(f"/l/{link['slug']}", headers={"User-Agent": "Twitterbot/1.0"})
    client.head(f"/l/{link['slug']}")
    client.get(f"/l/{link['slug']}", headers={"User-Agent": "curl/8"})
    factories.update_link(app, link["id"], created_by_id=staff.id)
    sign_in(client, staff.id)
    page = client.get("/links").get_data(as_text=True)
    row = page.split(f'href="/links/{link["id"]}"')[1].split("</tr>")[0]
    assert 'data-label="Clicks">2<' in row  # then when the last click was
    detail = client.get(f"/links/{link['id']}").get_data(as_text=True)
    assert detail.count("Sent to booking page") == 2
    # A link preview and a HEAD request read the same: neither is a person.
    assert detail.count("Bot or preview") == 2 and detail.count(">Person<") == 2


def test_the_redirect_is_one_lookup_and_one_insert(app, client, link):
    """Counted where the database sees them: the lookup is one SELECT on the AUTOCOMMIT
    engine with no BEGIN or ROLLBACK around it, through the driver (one checkout of that
    engine's pool; on SQLite, the database's own trace), the visit one INSERT in its own write
    transaction with one UPDATE of the link's person-click counter (webapp/clicks.py), and
    one SELECT of the webhook endpoints (does any want the click?), which a server pays once
    per batch of visits, not per click. The test config writes
    visits in the request (VISIT_FLUSH_INTERVAL 0); a server batches them
    (tests/test_tracking_perf_visits.py)."""
    from sqlalchemy import event

    from webapp.database import AUTOCOMMIT

    by_engine: dict[str, list[str]] = {"main": [], "autocommit": []}
    traced = []

    def listeners(name):
        def record(conn, cursor, statement, *args):
            by_engine[name].append(" ".join(statement.split()))

        def trace(dbapi_connection, record_, proxy):  # SQLite: what the database itself runs
            if hasattr(dbapi_connection, "set_trace_callback"):
                dbapi_connection.set_trace_callback(
                    lambda sql: by_engine[name].append("sqlite: " + " ".join(sql.split()))
                )
                traced.append(dbapi_connection)

        def checked_out(*_args):
            by_engine[name].append("checkout")

        return {"before_cursor_execute": record, "checkout": trace}, checked_out

    with app.app_context():
        engines = {"main": db.engine, "autocommit": db.engines[AUTOCOMMIT]}
        hooks = {name: listeners(name) for name in engines}
        for name, engine in engines.items():
            for event_name, listener in hooks[name][0].items():
                event.listen(engine, event_name, listener)
            event.listen(engine.pool, "checkout", hooks[name][1])
        try:
            response = client.get(f"/l/{link['slug']}", headers={"User-Agent": BROWSER})
            assert response.status_code == 302
        finally:
            for name, engine in engines.items():
                for event_name, listener in hooks[name][0].items():
                    event.remove(engine, event_name, listener)
                event.remove(engine.pool, "checkout", hooks[name][1])
            for dbapi_connection in traced:
                dbapi_connection.set_trace_callback(None)

    def statements(name, sqlite):
        # "SELECT 1" is the pool's liveness ping (pool_pre_ping), not a query of the app.
        return [
            s.removeprefix("sqlite: ")
            for s in by_engine[name]
            if s.startswith("sqlite: ") == sqlite
            and s.removeprefix("sqlite: ") not in ("SELECT 1", "checkout")
        ]

    assert by_engine["autocommit"].count("checkout") == 1, by_engine
    assert statements("autocommit", sqlite=False) == [], by_engine  # not through Connection
    written = [s.split()[0] for s in statements("main", sqlite=False)]
    assert [s for s in written if s in ("SELECT", "INSERT", "UPDATE", "DELETE")] == [
        "INSERT",
        "UPDATE",
        "SELECT",
    ]
    main = [
        s
        for s in statements("main", sqlite=False)
        if s.split()[0] in ("INSERT", "UPDATE", "SELECT")
    ]
    assert main[0].startswith("INSERT INTO visits"), main
    assert main[1].startswith("UPDATE tracked_links SET person_clicks="), main
    assert "FROM webhook_endpoints" in main[-1], main
    if engines["main"].dialect.name == "sqlite":
        lookup = statements("autocommit", sqlite=True)
        assert [s.split()[0] for s in lookup] == ["SELECT"], lookup
        assert "JOIN public_links" in lookup[0] and "WHERE tracked_links.slug = " in lookup[0]
        main = statements("main", sqlite=True)
        expected = ["BEGIN", "INSERT", "UPDATE", "SELECT", "COMMIT"]
        assert [s.split()[0] for s in main] == expected, main


@pytest.mark.parametrize("slug", ["%00", "a%20b", "x" * 33, "a.b", "%C3%A9"])
def test_impossible_slugs_are_404_without_a_lookup(app, client, slug):
    response = client.get(f"/l/{slug}")
    assert response.status_code == 404
    assert "could not find this booking link" in response.get_data(as_text=True)
