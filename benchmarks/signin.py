"""Sign in to a running server over HTTP like a browser: GET /login, scrape the CSRF token,
POST the form, keep the session cookie."""

from __future__ import annotations

import html
import re

import httpx

_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'([\w-]+)\s*=\s*"([^"]*)"')

BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


class SignInError(RuntimeError):
    pass


def csrf_token(page: str) -> str | None:
    for tag in _INPUT.findall(page):
        attrs = {name.lower(): html.unescape(value) for name, value in _ATTR.findall(tag)}
        if attrs.get("name") == "csrf_token":
            return attrs.get("value")
    return None


def _form(page: str, email: str, password: str) -> dict[str, str]:
    token = csrf_token(page)
    form = {"email": email, "password": password}
    if token:
        form["csrf_token"] = token
    return form


def _check(answer: httpx.Response, base_url: str) -> None:
    location = answer.headers.get("location", "")
    if answer.status_code not in (302, 303) or "/login" in location:
        raise SignInError(
            f"sign-in at {base_url} answered {answer.status_code} "
            f"(location {location!r}): {answer.text[:300]!r}"
        )


def sign_in(base_url: str, email: str, password: str, timeout: float = 30.0) -> httpx.Client:
    """A client carrying a signed-in session cookie, or SignInError with what went wrong."""
    client = httpx.Client(base_url=base_url, timeout=timeout, headers={"User-Agent": BROWSER_UA})
    try:
        page = client.get("/login")
        if page.status_code != 200:
            raise SignInError(f"GET /login answered {page.status_code}")
        _check(client.post("/login", data=_form(page.text, email, password)), base_url)
    except BaseException:
        client.close()
        raise
    return client


async def sign_in_async(
    base_url: str, email: str, password: str, timeout: float = 30.0
) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        base_url=base_url, timeout=timeout, headers={"User-Agent": BROWSER_UA}
    )
    try:
        page = await client.get("/login")
        if page.status_code != 200:
            raise SignInError(f"GET /login answered {page.status_code}")
        _check(await client.post("/login", data=_form(page.text, email, password)), base_url)
    except BaseException:
        await client.aclose()
        raise
    return client
