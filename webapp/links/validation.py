"""The rules for Public Link and tracked link fields. Pure: no Flask, no database.

Each rule either returns the normalised value or raises `InvalidValue` (a ValueError) whose
message says why, in words a person can act on. The pages, the JSON API and the CSV upload
all call these, so a rule lives in one place.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import unquote_plus

from webapp.models.links import CRONOFY_HOSTS, UTM_KEYS

PUBLIC_LINK_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# The app sets these per tracked link (and any utm_* key is Cronofy's metadata); a stored URL
# that already carried them would be ambiguous.
RESERVED_QUERY_KEYS = frozenset({"claim_token", "correlation_id", *UTM_KEYS})
MAX_URL_LENGTH = 2000
MAX_NAME_LENGTH = 200
MAX_LABEL_LENGTH = 200
MAX_CORRELATION_ID_LENGTH = 128
MAX_UTM_LENGTH = 128  # Cronofy's limit for every metadata value
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


class InvalidValue(ValueError):
    """A value broke a rule; str(error) says which and why."""


class InvalidPublicLinkURL(InvalidValue):
    """The URL is not a Cronofy Public Link this app can send invitees to."""


def validate_public_link_url(url: Any, *, sandbox_origin: str | None = None) -> str:
    """Return the normalised Public Link URL or raise InvalidPublicLinkURL saying why.

    Accepted: `https://app.cronofy.com/pls/<code>` or one of the data-centre hosts
    (`app-au`, `app-ca`, `app-de`, `app-sg`, `app-uk`), host matched exactly after
    lower-casing; a query is kept, a fragment is refused. With `sandbox_origin` (e.g.
    `http://127.0.0.1:5000`), `<sandbox_origin>/sandbox/pls/<code>` is accepted too.
    Scheme and host come back lower-cased; the code keeps its case.
    """
    if not isinstance(url, str):
        raise InvalidPublicLinkURL("must be a text URL")
    text = url.strip()
    if not text:
        raise InvalidPublicLinkURL(
            "enter the Public Link's URL, e.g. https://app.cronofy.com/pls/AbC123"
        )
    if len(text) > MAX_URL_LENGTH:
        raise InvalidPublicLinkURL(f"must be at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() for ch in text) or has_unprintable(text):
        raise InvalidPublicLinkURL("must not contain spaces or control characters")
    if "\\" in text:
        raise InvalidPublicLinkURL("must not contain backslashes")
    if "#" in text:
        raise InvalidPublicLinkURL("must not have a fragment (the part after #)")
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise InvalidPublicLinkURL("must be a full URL starting with https://")
    scheme = scheme.lower()
    authority, slash, path_and_query = rest.partition("/")
    path, _, query = ("/" + path_and_query if slash else "").partition("?")
    if "?" in authority:
        raise InvalidPublicLinkURL("must have the path /pls/<code> after the host")
    if "@" in authority:
        raise InvalidPublicLinkURL(
            "must not contain a user name or password (an @ before the host)"
        )
    host = authority.lower()
    _check_query(query)

    sandbox = _sandbox_origin_parts(sandbox_origin)
    if sandbox and (scheme, host) == sandbox:
        code = _code_after(path, "/sandbox/pls/")
        if code is None:
            raise InvalidPublicLinkURL(
                "a sandbox Public Link's path must be /sandbox/pls/<code>, the code being "
                "1-64 letters, digits, - or _"
            )
        return f"{scheme}://{host}/sandbox/pls/{code}" + (f"?{query}" if query else "")

    _check_host(host)
    if scheme != "https":
        raise InvalidPublicLinkURL("must use https://")
    if not host.isascii():
        raise InvalidPublicLinkURL(
            "the host contains non-ASCII characters; Cronofy hosts are plain app.cronofy.com "
            "or app-au/ca/de/sg/uk.cronofy.com"
        )
    if host not in CRONOFY_HOSTS:
        raise InvalidPublicLinkURL(
            f"the host must be exactly app.cronofy.com or app-au, app-ca, app-de, app-sg or "
            f"app-uk .cronofy.com, not {host}"
        )
    code = _code_after(path, "/pls/")
    if code is None:
        raise InvalidPublicLinkURL(
            "the path must be /pls/<code>, the code being 1-64 letters, digits, - or _"
        )
    return f"https://{host}/pls/{code}" + (f"?{query}" if query else "")


def _code_after(path: str, prefix: str) -> str | None:
    """The Public Link code in `<prefix><code>` or `<prefix><code>/` (the same page)."""
    if not path.startswith(prefix):
        return None
    code = path.removeprefix(prefix).removesuffix("/")
    return code if PUBLIC_LINK_CODE.fullmatch(code) else None


def _check_host(host: str) -> None:
    if not host:
        raise InvalidPublicLinkURL("has no host")
    if ":" in host:
        raise InvalidPublicLinkURL(
            "must not name a port: Cronofy serves Public Links on the standard https port"
        )
    if "%" in host:
        raise InvalidPublicLinkURL("the host must not be percent-encoded")


def _check_query(query: str) -> None:
    """Refuse a query that already sets a key the app adds per tracked link.

    Keys are compared decoded and in any letter case, and both `&` and `;` count as
    separators (Python's parse_qsl only splits on `&`; other servers split on `;` too), so
    `?x=1;CLAIM_TOKEN=...` or `?Utm_Source=...` cannot slip a second value past the app.
    """
    if not query:
        return
    keys = {
        unquote_plus(part.partition("=")[0]).strip().lower()
        for part in re.split(r"[&;]", query)
        if part
    }
    clash = sorted(key for key in keys if key in RESERVED_QUERY_KEYS or key.startswith("utm_"))
    if clash:
        raise InvalidPublicLinkURL(
            f"must not already set {', '.join(clash)}: the app adds those for each tracked link"
        )


def _sandbox_origin_parts(origin: str | None) -> tuple[str, str] | None:
    if not origin:
        return None
    scheme, sep, rest = origin.strip().partition("://")
    if not sep:
        return None
    return scheme.lower(), rest.split("/", 1)[0].lower()


def validate_name(value: Any) -> str:
    """A Public Link's name: trimmed, 1-200 characters, no control characters."""
    return _text(value, "a name", MAX_NAME_LENGTH, required=True)


def validate_label(value: Any) -> str:
    """A tracked link's label: trimmed, at most 200 characters, may be empty."""
    if value is None:
        return ""
    return _text(value, "a label", MAX_LABEL_LENGTH, required=False)


def validate_correlation_id(value: Any) -> str:
    """Trimmed, 1-128 printable characters (spaces and any script allowed, controls not)."""
    return _text(value, "a correlation ID", MAX_CORRELATION_ID_LENGTH, required=True)


def validate_utm_value(value: Any) -> str | None:
    """Trimmed, at most 128 characters (Cronofy's limit); empty means none."""
    if value is None:
        return None
    return _text(value, "a UTM value", MAX_UTM_LENGTH, required=False) or None


def generate_correlation_id() -> str:
    """A fresh correlation ID for a link whose creator did not type one."""
    return "trk_" + secrets.token_hex(8)


def _text(value: Any, what: str, limit: int, *, required: bool) -> str:
    if not isinstance(value, str):
        raise InvalidValue("must be text")
    text = value.strip()
    if required and not text:
        raise InvalidValue(f"enter {what}")
    if len(text) > limit:
        raise InvalidValue(f"must be at most {limit} characters (this one has {len(text)})")
    if has_unprintable(text):
        raise InvalidValue(
            "must not contain control or invisible characters such as tabs or line breaks"
        )
    return text


def has_unprintable(text: str) -> bool:
    """True when text holds a control, format (zero-width, bidi) or line-separator character.

    Ordinary spaces of any script are fine; these are the characters that break CSV files
    and log lines or make two different IDs look the same.
    """
    return any(unicodedata.category(ch) in _UNPRINTABLE for ch in text)


def parse_aware_datetime(value: Any) -> datetime | None:
    """ISO-8601 with a timezone ('Z' or an offset) -> aware UTC datetime; None/'' -> None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidValue("must be an ISO-8601 date and time string, e.g. 2030-01-31T17:00:00Z")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidValue("is not an ISO-8601 date and time, e.g. 2030-01-31T17:00:00Z") from exc
    if parsed.tzinfo is None:
        raise InvalidValue("must include a timezone, e.g. 2030-01-31T17:00:00Z or +02:00")
    return _to_utc(parsed)


def _to_utc(parsed: datetime) -> datetime:
    # 9999-12-31T23:59-01:00 is a valid ISO string that no UTC datetime can hold.
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise InvalidValue("is out of range") from exc


def local_time_parser(zone: tzinfo, zone_name: str) -> Callable[[str | None], datetime | None]:
    """A reader of a form's datetime-local value ('2030-01-31T17:00') as a time in `zone`
    (the person's own), to aware UTC; '' -> None. A value with an offset keeps it."""

    def parse(value: str | None) -> datetime | None:
        if value is None or not value.strip():
            return None
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise InvalidValue(
                f"is not a date and time (YYYY-MM-DD HH:MM, in {zone_name})"
            ) from exc
        return _to_utc(parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone))

    return parse


def parse_utc_local(value: str | None) -> datetime | None:
    """A form's datetime-local value ('2030-01-31T17:00'), read as UTC; '' -> None."""
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidValue("is not a date and time (YYYY-MM-DD HH:MM, in UTC)") from exc
    if parsed.tzinfo is not None:
        return _to_utc(parsed)
    return parsed.replace(tzinfo=UTC)
