"""The pure rules: Public Link URLs, correlation IDs, UTM values, labels, expiry parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from webapp.links.inputs import InvalidInput, clean_public_link, clean_tracked_link
from webapp.links.validation import (
    InvalidPublicLinkURL,
    InvalidValue,
    generate_correlation_id,
    parse_aware_datetime,
    parse_utc_local,
    validate_correlation_id,
    validate_label,
    validate_public_link_url,
    validate_utm_value,
)
from webapp.models import UTM_KEYS

SANDBOX = "http://127.0.0.1:5000"


@pytest.mark.parametrize(
    "host",
    [
        "app.cronofy.com",
        "app-au.cronofy.com",
        "app-ca.cronofy.com",
        "app-de.cronofy.com",
        "app-sg.cronofy.com",
        "app-uk.cronofy.com",
    ],
)
def test_every_cronofy_host_is_accepted(host):
    assert (
        validate_public_link_url(f"https://{host}/pls/Q5-ZDPM8") == f"https://{host}/pls/Q5-ZDPM8"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("  https://app.cronofy.com/pls/abc_DEF-1  ", "https://app.cronofy.com/pls/abc_DEF-1"),
        ("HTTPS://APP.CRONOFY.COM/pls/AbC", "https://app.cronofy.com/pls/AbC"),
        (
            "https://app-uk.cronofy.com/pls/x?lang=en&b=1",
            "https://app-uk.cronofy.com/pls/x?lang=en&b=1",
        ),
        ("https://app.cronofy.com/pls/" + "a" * 64, "https://app.cronofy.com/pls/" + "a" * 64),
    ],
)
def test_urls_are_normalised_and_queries_kept(url, expected):
    assert validate_public_link_url(url) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://app.cronofy.com/pls/abc", "https"),
        ("ftp://app.cronofy.com/pls/abc", "https"),
        ("app.cronofy.com/pls/abc", "https://"),
        ("https://app.cronofy.com.evil.com/pls/abc", "host must be exactly"),
        ("https://evilapp.cronofy.com/pls/abc", "host must be exactly"),
        ("https://app-xx.cronofy.com/pls/abc", "host must be exactly"),
        ("https://app-us.cronofy.com/pls/abc", "host must be exactly"),
        ("https://cronofy.com/pls/abc", "host must be exactly"),
        ("https://www.app.cronofy.com/pls/abc", "host must be exactly"),
        ("https://app.cronofy.com./pls/abc", "host must be exactly"),
        ("https://xn--pp-8cd.cronofy.com/pls/abc", "host must be exactly"),
        ("https://аpp.cronofy.com/pls/abc", "non-ASCII"),  # Cyrillic а
        ("https://app.cronofy.com@evil.com/pls/x", "user name or password"),
        ("https://user:pw@app.cronofy.com/pls/x", "user name or password"),
        ("https://evil.com\\@app.cronofy.com/pls/x", "backslash"),
        ("https://app.cronofy.com\\pls\\x", "backslash"),
        ("https://app.cronofy.com:8443/pls/abc", "port"),
        ("https://app.cronofy.com:443/pls/abc", "port"),
        ("https://app%2Ecronofy.com/pls/abc", "percent-encoded"),
        ("https:///pls/abc", "no host"),
        ("https://app.cronofy.com", "path must be /pls/"),
        ("https://app.cronofy.com/", "path must be /pls/"),
        ("https://app.cronofy.com/pls/", "path must be /pls/"),
        ("https://app.cronofy.com/pls/abc//", "path must be /pls/"),
        ("https://app.cronofy.com/pls//", "path must be /pls/"),
        ("https://app.cronofy.com/pls/abc/def", "path must be /pls/"),
        ("https://app.cronofy.com/pls/a.b", "path must be /pls/"),
        ("https://app.cronofy.com/pls/%41bc", "path must be /pls/"),
        ("https://app.cronofy.com/PLS/abc", "path must be /pls/"),
        ("https://app.cronofy.com/oauth/pls/abc", "path must be /pls/"),
        ("https://app.cronofy.com/pls/" + "a" * 65, "path must be /pls/"),
        ("https://app.cronofy.com?pls/abc", "path"),
        ("https://app.cronofy.com/pls/abc#frag", "fragment"),
        ("https://app.cronofy.com/pls/abc?claim_token=x", "claim_token"),
        ("https://app.cronofy.com/pls/abc?correlation_id=1&utm_source=2", "correlation_id"),
        ("https://app.cronofy.com/pls/a bc", "spaces"),
        ("https://app.cronofy.com/pls/abc\n", None),  # trimmed, accepted
        ("https://app.cronofy.com/pls/ab\tc", "spaces"),
        ("https://app.cronofy.com/pls/ab\u200bc", "control"),
        ("", "enter"),
        ("   ", "enter"),
        ("https://app.cronofy.com/pls/" + "a" * 2000, "at most"),
        (f"{SANDBOX}/sandbox/pls/demo", "https"),  # sandbox URLs only when the sandbox is on
        ("javascript:alert(1)//app.cronofy.com/pls/x", "https://"),
    ],
)
def test_look_alikes_and_tricks_are_refused_with_a_reason(url, reason):
    if reason is None:
        assert validate_public_link_url(url) == url.strip()
        return
    with pytest.raises(InvalidPublicLinkURL) as raised:
        validate_public_link_url(url)
    assert reason.lower() in str(raised.value).lower()
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("CLAIM_TOKEN=x", "claim_token"),
        ("Correlation_Id=1", "correlation_id"),
        ("utm_SOURCE=a", "utm_source"),
        ("lang=en;claim_token=x", "claim_token"),
        ("lang=en;Correlation_ID=x", "correlation_id"),
        ("a=1&b=2;utm_campaign=x", "utm_campaign"),
        ("claim%5Ftoken=x", "claim_token"),
        ("utm_id=42", "utm_id"),  # every utm_* key is Cronofy's metadata
        (";claim_token", "claim_token"),
    ],
)
def test_reserved_query_keys_are_refused_in_any_case_and_after_semicolons(query, key):
    with pytest.raises(InvalidPublicLinkURL) as raised:
        validate_public_link_url(f"https://app.cronofy.com/pls/abc?{query}")
    assert key in str(raised.value)
    with pytest.raises(InvalidPublicLinkURL):
        validate_public_link_url(f"{SANDBOX}/sandbox/pls/demo?{query}", sandbox_origin=SANDBOX)


def test_other_query_keys_are_kept_as_they_are():
    url = "https://app.cronofy.com/pls/abc?lang=en;x=claim_token&utm=1&my_utm_source=2"
    assert validate_public_link_url(url) == url


def test_a_trailing_slash_after_the_code_is_the_same_page():
    assert (
        validate_public_link_url("https://app-uk.cronofy.com/pls/Q5-ZDPM8/?lang=en")
        == "https://app-uk.cronofy.com/pls/Q5-ZDPM8?lang=en"
    )
    assert (
        validate_public_link_url(f"{SANDBOX}/sandbox/pls/demo/", sandbox_origin=SANDBOX)
        == f"{SANDBOX}/sandbox/pls/demo"
    )


@pytest.mark.parametrize("value", [None, 5, ["https://app.cronofy.com/pls/x"], b"https://x"])
def test_non_text_urls_are_refused(value):
    with pytest.raises(InvalidPublicLinkURL, match="text"):
        validate_public_link_url(value)


def test_sandbox_urls_are_accepted_only_on_the_sandbox_origin():
    ok = validate_public_link_url(f"{SANDBOX}/sandbox/pls/demo?x=1", sandbox_origin=SANDBOX)
    assert ok == f"{SANDBOX}/sandbox/pls/demo?x=1"
    upper = validate_public_link_url(
        "HTTP://127.0.0.1:5000/sandbox/pls/Demo", sandbox_origin=SANDBOX
    )
    assert upper == f"{SANDBOX}/sandbox/pls/Demo"
    # Cronofy's hosts still work with the sandbox on.
    assert validate_public_link_url("https://app.cronofy.com/pls/x", sandbox_origin=SANDBOX)
    for bad, reason in [
        (f"{SANDBOX}/pls/demo", "/sandbox/pls/"),
        (f"{SANDBOX}/sandbox/pls/", "/sandbox/pls/"),
        (f"{SANDBOX}/sandbox/pls/a/b", "/sandbox/pls/"),
        ("http://127.0.0.1:5001/sandbox/pls/demo", "port"),
        ("http://evil.com/sandbox/pls/demo", "https"),
        ("http://127.0.0.1:5000@evil.com/sandbox/pls/demo", "user name"),
        (f"{SANDBOX}/sandbox/pls/demo#x", "fragment"),
    ]:
        with pytest.raises(InvalidPublicLinkURL) as raised:
            validate_public_link_url(bad, sandbox_origin=SANDBOX)
        assert reason in str(raised.value), bad


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc", "abc"),
        ("  padded id  ", "padded id"),
        ("with spaces & ümlauts 日本", "with spaces & ümlauts 日本"),
        ("x" * 128, "x" * 128),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        ("=1+2", "=1+2"),
    ],
)
def test_good_correlation_ids(value, expected):
    assert validate_correlation_id(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "enter"),
        ("   ", "enter"),
        ("x" * 129, "at most 128"),
        ("a\tb", "control"),
        ("a\nb", "control"),
        ("a\x00b", "control"),
        ("a\x7fb", "control"),
        ("a\u202eb", "control"),  # right-to-left override
        ("a\u2028b", "control"),
        (5, "text"),
        (None, "text"),
    ],
)
def test_bad_correlation_ids(value, reason):
    with pytest.raises(InvalidValue, match=reason):
        validate_correlation_id(value)


def test_generated_correlation_ids_are_valid_and_unique():
    ids = {generate_correlation_id() for _ in range(200)}
    assert len(ids) == 200
    for value in ids:
        assert validate_correlation_id(value) == value


def test_utm_values_and_labels():
    assert validate_utm_value("  newsletter ") == "newsletter"
    assert validate_utm_value("") is None
    assert validate_utm_value("   ") is None
    assert validate_utm_value(None) is None
    assert validate_utm_value("u" * 128) == "u" * 128
    with pytest.raises(InvalidValue, match="at most 128"):
        validate_utm_value("u" * 129)
    with pytest.raises(InvalidValue, match="text"):
        validate_utm_value(3)
    assert validate_label(" Ada Lovelace ") == "Ada Lovelace"
    assert validate_label("") == ""
    assert validate_label(None) == ""
    with pytest.raises(InvalidValue, match="at most 200"):
        validate_label("l" * 201)


def test_expiry_parsing():
    assert parse_aware_datetime("2030-01-31T17:00:00Z") == datetime(2030, 1, 31, 17, tzinfo=UTC)
    assert parse_aware_datetime("2030-01-31T19:00:00+02:00") == datetime(
        2030, 1, 31, 17, tzinfo=UTC
    )
    assert parse_aware_datetime(None) is None
    with pytest.raises(InvalidValue, match="timezone"):
        parse_aware_datetime("2030-01-31T17:00:00")
    with pytest.raises(InvalidValue, match="ISO-8601"):
        parse_aware_datetime("next tuesday")
    with pytest.raises(InvalidValue, match="ISO-8601"):
        parse_aware_datetime(1700000000)
    assert parse_utc_local("2030-01-31T17:00") == datetime(2030, 1, 31, 17, tzinfo=UTC)
    assert parse_utc_local("") is None
    with pytest.raises(InvalidValue, match="UTC"):
        parse_utc_local("31/01/2030")


def test_clean_public_link_reports_every_field_and_type():
    with pytest.raises(InvalidInput) as raised:
        clean_public_link(
            {"name": 5, "url": "http://x", "active": "yes", "colour": 1}, partial=False
        )
    assert set(raised.value.fields) == {"name", "url", "active", "colour"}
    with pytest.raises(InvalidInput) as raised:
        clean_public_link({}, partial=False)
    assert set(raised.value.fields) == {"name", "url"}
    assert clean_public_link({"active": False}, partial=True) == {"active": False}


def test_clean_tracked_link_types_and_utm_object():
    with pytest.raises(InvalidInput) as raised:
        clean_tracked_link(
            {"public_link_id": "1", "utm": "x", "disabled": 1, "expires_at": "2030-01-01T00:00"},
            partial=False,
        )
    assert set(raised.value.fields) == {"public_link_id", "utm", "disabled", "expires_at"}
    with pytest.raises(InvalidInput) as raised:
        clean_tracked_link(
            {"public_link_id": True, "utm": {"utm_bogus": "x", "utm_term": 7}}, partial=False
        )
    assert set(raised.value.fields) == {"public_link_id", "utm.utm_bogus", "utm.utm_term"}
    clean = clean_tracked_link(
        {"public_link_id": 3, "utm": {"utm_source": " mail ", "utm_term": ""}}, partial=False
    )
    assert clean == {
        "public_link_id": 3,
        "correlation_id": None,
        "utm_source": "mail",
        "utm_term": None,
    }
    assert (
        clean_tracked_link({"public_link_id": 1, "correlation_id": "  "}, partial=False)[
            "correlation_id"
        ]
        is None
    )
    with pytest.raises(InvalidInput) as raised:
        clean_tracked_link({"correlation_id": "  "}, partial=True)
    assert "correlation_id" in raised.value.fields


def test_utm_keys_are_cronofys_allow_list():
    assert UTM_KEYS == ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
