"""Signing in the way a person does: GET /login, the form's CSRF token, POST the form.

One helper per transport: `sign_in` for a Flask test client, `sign_in_http` (and its async
twin) for real HTTP to a running server through httpx. Both go through the real form, so
they keep working whatever the session carries.
"""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
from flask.testing import FlaskClient

from tests.support.factories import PASSWORD
from webapp.extensions import db
from webapp.models import User

# A desktop browser's User-Agent, for pages that tell people from robots.
BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'([\w-]+)\s*=\s*"([^"]*)"')


class SignInError(AssertionError):
    pass


def hidden_field(page: str, name: str) -> str | None:
    """The value of the form field called `name` in an HTML page, or None."""
    for tag in _INPUT.findall(page):
        attrs = {key.lower(): html.unescape(value) for key, value in _ATTR.findall(tag)}
        if attrs.get("name") == name:
            return attrs.get("value")
    return None


def login_form(page: str, email: str, password: str = PASSWORD) -> dict[str, str]:
    form = {"email": email, "password": password}
    if token := hidden_field(page, "csrf_token"):
        form["csrf_token"] = token
    return form


def check_signed_in(status: int, location: str, body: str, where: str = "") -> None:
    if status not in (302, 303) or "/login" in location:
        raise SignInError(
            f"sign-in{where} answered {status} (location {location!r}): {body[:300]!r}"
        )


def sign_in(client: FlaskClient, who: str | int, password: str = PASSWORD) -> FlaskClient:
    """Sign a test client in through /login as the user with this email (or id)."""
    email = who if isinstance(who, str) else _email_of(client, who)
    page = ""
    if client.application.config.get("WTF_CSRF_ENABLED"):
        page = client.get("/login").get_data(as_text=True)
    answer = client.post("/login", data=login_form(page, email, password))
    check_signed_in(answer.status_code, answer.location or "", answer.get_data(as_text=True))
    return client


def _email_of(client: FlaskClient, user_id: int) -> str:
    with client.application.app_context():
        return db.session.get(User, user_id).email


def sign_in_http(
    client: httpx.Client, email: str, password: str = PASSWORD, **options: Any
) -> httpx.Client:
    """Sign an httpx client in to a running server; `options` go with both requests (headers
    such as Host or Referer, extensions such as the TLS server name)."""
    page = client.get("/login", **options)
    if page.status_code != 200:
        raise SignInError(f"GET /login answered {page.status_code}")
    answer = client.post("/login", data=login_form(page.text, email, password), **options)
    check_signed_in(
        answer.status_code,
        answer.headers.get("location", ""),
        answer.text,
        f" at {client.base_url}",
    )
    return client


async def sign_in_http_async(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> httpx.AsyncClient:
    page = await client.get("/login")
    if page.status_code != 200:
        raise SignInError(f"GET /login answered {page.status_code}")
    answer = await client.post("/login", data=login_form(page.text, email, password))
    check_signed_in(
        answer.status_code,
        answer.headers.get("location", ""),
        answer.text,
        f" at {client.base_url}",
    )
    return client


def bearer(token: str) -> dict[str, str]:
    """The header that signs an API request in with a token."""
    return {"Authorization": f"Bearer {token}"}
