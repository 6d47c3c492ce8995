"""Configuration: built-in defaults < instance/config.py < environment < test config.

Everything the app needs to know about its surroundings is resolved here, once, inside
create_app(); no module reads the environment at import time.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from webapp.private_files import make_private_folder, write_private

MAX_CLAIM_TOKEN_TTL = 4 * 60 * 60
MIN_CLAIM_TOKEN_TTL = 60

DEFAULTS: dict[str, Any] = {
    "SQLALCHEMY_DATABASE_URI": None,  # filled in with the SQLite file in instance/
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "MAX_CONTENT_LENGTH": 1024 * 1024,  # the receiver's 1 MiB limit; CSV uploads too
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "SESSION_REFRESH_EACH_REQUEST": True,
    # Sessions end after 12 h without a request (refreshed on every request).
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    "CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY": None,
    "CRONOFY_SCHEDULER_EMBED_SECRET": None,
    "CRONOFY_CLIENT_SECRET": None,
    "CLAIM_TOKEN_TTL": MAX_CLAIM_TOKEN_TTL,
    "WEBAPP_SANDBOX": None,  # None: on only while no Cronofy credentials are set
    "PUBLIC_BASE_URL": None,
    "TRUSTED_PROXIES": 0,
    "TRUSTED_HOSTS": None,  # None: PUBLIC_BASE_URL's host, else the loopback names
    # Sign-in throttle (webapp/auth/throttle.py): failures per (account, address) pair
    # and per address before a pause; failures per account before it is slowed down.
    "LOGIN_THROTTLE_LIMIT": 10,
    "LOGIN_THROTTLE_ADDRESS_LIMIT": 50,
    "LOGIN_THROTTLE_ACCOUNT_FREE": 10,
    "LOGIN_THROTTLE_ACCOUNT_MAX_DELAY": 300,  # seconds
    "LOGIN_THROTTLE_WINDOW": timedelta(minutes=15),
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:600000",
    "SSE_POLL_INTERVAL": 0.25,
    "SSE_HEARTBEAT": 15.0,
    "SSE_MAX_DURATION": 300.0,  # a stream ends and the browser reconnects from its cursor
    # Open live streams each worker process keeps (webapp/live/capacity.py). None: half of
    # WEBAPP_WORKER_THREADS, which gunicorn.conf.py sets to the worker's thread count, so the
    # other half always serves ordinary requests and the receiver.
    "LIVE_STREAMS_PER_WORKER": None,
    "LIVE_STREAMS_PER_USER": 4,  # per worker process too
    "WEBAPP_WORKER_THREADS": None,
    # Silence alarm (webapp/alerts/silence.py): hours without a notification while people
    # clicked, and how long each process reuses its last check.
    "ALERT_SILENCE_HOURS": 24,
    "ALERT_SILENCE_CACHE_SECONDS": 30,
    # Outbound messages (webapp/outbox/, webapp/outbound/, webapp/mail/).
    "OUTBOX_WORKER": None,  # None: a sending thread per process, except under TESTING
    "MAIL_URL": None,  # smtp://user:pass@host:port, smtps://..., ?starttls=1; unset: no email
    "MAIL_FROM": None,
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": False,
    "OUTBOUND_CONNECT_TIMEOUT": 5.0,
    "OUTBOUND_READ_TIMEOUT": 10.0,
    # Days to keep raw payloads, visits and outbound delivery logs (webapp/retention/);
    # None keeps everything.
    "RETENTION_DAYS": None,
}

ENV_STRINGS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY",
    "CRONOFY_SCHEDULER_EMBED_SECRET",
    "CRONOFY_CLIENT_SECRET",
    "PUBLIC_BASE_URL",
    "TRUSTED_HOSTS",
    "MAIL_URL",
    "MAIL_FROM",
    "RETENTION_DAYS",  # checked in _derive, with its own message
)
ENV_FLAGS = (
    "WEBAPP_SANDBOX",
    "SESSION_COOKIE_SECURE",
    "WEBHOOK_ALLOW_PRIVATE_TARGETS",
    "OUTBOX_WORKER",
)
ENV_INTS = (
    "CLAIM_TOKEN_TTL",
    "TRUSTED_PROXIES",
    "LIVE_STREAMS_PER_WORKER",
    "LIVE_STREAMS_PER_USER",
    "WEBAPP_WORKER_THREADS",
    "ALERT_SILENCE_HOURS",
    "OUTBOX_CLAIM_SECONDS",
)

# What a newcomer types to reach the app on their own machine. Werkzeug 3.1 cannot match a
# bracketed IPv6 literal against TRUSTED_HOSTS, so "[::1]" is listed for when it can.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
ANY_HOST = "*"

CREDENTIAL_KEYS = (
    "CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY",
    "CRONOFY_SCHEDULER_EMBED_SECRET",
    "CRONOFY_CLIENT_SECRET",
)


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says which setting and why."""


def parse_flag(value: str | bool | int | None) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"expected 1 or 0, got {value!r}")


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill app.config in precedence order, then derive the effective settings."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    _apply_environment(app, os.environ)
    if test_config:
        app.config.from_mapping(test_config)
    _derive(app)


def _apply_environment(app: Flask, environ: os._Environ[str] | dict[str, str]) -> None:
    for name in ENV_STRINGS:
        if environ.get(name):
            app.config[name] = environ[name]
    for name in ENV_FLAGS:
        if name in environ:
            try:
                app.config[name] = parse_flag(environ[name])
            except ConfigError as exc:
                raise ConfigError(f"{name}: {exc}") from exc
    for name in ENV_INTS:
        if environ.get(name):
            try:
                app.config[name] = int(environ[name])
            except ValueError as exc:
                raise ConfigError(f"{name} must be a whole number of seconds/count") from exc


def _derive(app: Flask) -> None:
    config = app.config
    instance = Path(app.instance_path)
    make_private_folder(instance)

    if config.get("DATABASE_URL") and not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = _normalise_database_url(config["DATABASE_URL"])
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'webapp.sqlite3'}"

    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _read_or_create_secret(instance / "secret_key")

    ttl = int(config["CLAIM_TOKEN_TTL"])
    if not MIN_CLAIM_TOKEN_TTL <= ttl <= MAX_CLAIM_TOKEN_TTL:
        raise ConfigError(
            f"CLAIM_TOKEN_TTL must be between {MIN_CLAIM_TOKEN_TTL} and "
            f"{MAX_CLAIM_TOKEN_TTL} seconds (Cronofy refuses longer), got {ttl}"
        )
    config["CLAIM_TOKEN_TTL"] = ttl
    _check_stream_caps(config)
    silence_hours = int(config["ALERT_SILENCE_HOURS"])
    if silence_hours < 1:
        raise ConfigError(f"ALERT_SILENCE_HOURS must be at least 1 (hours), got {silence_hours}")
    config["ALERT_SILENCE_HOURS"] = silence_hours
    config["RETENTION_DAYS"] = retention_days(config.get("RETENTION_DAYS"))
    config["SESSION_COOKIE_SECURE"] = bool(parse_flag(config["SESSION_COOKIE_SECURE"]))
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    if config.get("PUBLIC_BASE_URL"):
        config["PUBLIC_BASE_URL"] = _check_base_url(str(config["PUBLIC_BASE_URL"]))
    config["TRUSTED_HOSTS"] = trusted_hosts(config.get("TRUSTED_HOSTS"), config["PUBLIC_BASE_URL"])

    real_credentials = any(config.get(key) for key in CREDENTIAL_KEYS)
    sandbox = parse_flag(config.get("WEBAPP_SANDBOX"))
    config["WEBAPP_SANDBOX"] = (not real_credentials) if sandbox is None else sandbox
    config["SANDBOX_CREDENTIALS_GENERATED"] = False
    if config["WEBAPP_SANDBOX"] and not real_credentials:
        generated = _read_or_create_sandbox_credentials(instance / "sandbox_credentials.json")
        for key in CREDENTIAL_KEYS:
            config[key] = generated[key]
        config["SANDBOX_CREDENTIALS_GENERATED"] = True

    config["CLIENT_SECRETS"] = split_secrets(config.get("CRONOFY_CLIENT_SECRET"))
    config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = bool(
        parse_flag(config.get("WEBHOOK_ALLOW_PRIVATE_TARGETS"))
    )
    config["OUTBOX_WORKER"] = parse_flag(config.get("OUTBOX_WORKER"))  # None: by TESTING


def _check_stream_caps(config: Any) -> None:
    for name, lowest in (
        ("LIVE_STREAMS_PER_WORKER", 0),
        ("LIVE_STREAMS_PER_USER", 1),
        ("WEBAPP_WORKER_THREADS", 1),
    ):
        value = config.get(name)
        if value is None and name != "LIVE_STREAMS_PER_USER":
            continue
        try:
            number = int(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{name} must be a whole number, got {value!r}") from exc
        if number < lowest:
            raise ConfigError(f"{name} must be at least {lowest}, got {number}")
        config[name] = number


def retention_days(value: object) -> int | None:
    """RETENTION_DAYS as a number of days, or None (unset: keep everything)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) < 1:
        raise ConfigError(
            "RETENTION_DAYS must be a whole number of days, at least 1 (or unset to keep "
            f"everything), got {value!r}"
        )
    return int(text)


def split_secrets(value: str | None) -> list[str]:
    """CRONOFY_CLIENT_SECRET may hold several secrets, comma-separated (rotation)."""
    if not value:
        return []
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _check_base_url(value: str) -> str:
    base = value.strip().rstrip("/")
    parts = urlsplit(base)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.query
        or parts.fragment
    ):
        raise ConfigError(
            f"PUBLIC_BASE_URL must be the app's public origin, e.g. https://links.example.com, "
            f"not {value!r}"
        )
    return base


def trusted_hosts(value: str | list[str] | None, public_base_url: str | None) -> list[str] | None:
    """The host names the app answers to (Flask's TRUSTED_HOSTS); None means any.

    Given: a comma list (or a list) of names, `.example.com` for a domain and its subdomains,
    or `*` for any host. Not given: PUBLIC_BASE_URL's host, or without it the loopback names
    (development). A loopback PUBLIC_BASE_URL trusts every loopback name, since
    http://localhost:5000 and http://127.0.0.1:5000 are the same app to whoever types them.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        if not public_base_url:
            return list(LOOPBACK_HOSTS)
        host = _host_of(public_base_url)
        return list(LOOPBACK_HOSTS) if host in LOOPBACK_HOSTS else [host]
    names = value.split(",") if isinstance(value, str) else list(value)
    hosts = [str(name).strip().lower() for name in names if str(name).strip()]
    if ANY_HOST in hosts:
        return None
    for host in hosts:
        if "/" in host or "@" in host:
            raise ConfigError(
                f"TRUSTED_HOSTS lists host names such as links.example.com, not URLs: {host!r}"
            )
    return hosts


def _host_of(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return f"[{host}]" if ":" in host else host


def embed_credentials_configured(config: dict[str, Any]) -> bool:
    return bool(
        config.get("CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY")
        and config.get("CRONOFY_SCHEDULER_EMBED_SECRET")
    )


def _normalise_database_url(url: str) -> str:
    # Heroku-style URLs and bare postgresql:// both mean psycopg 3 here.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _read_or_create_secret(path: Path) -> str:
    with contextlib.suppress(FileExistsError):
        write_private(path, secrets.token_hex(32))
    return path.read_text().strip()


def _read_or_create_sandbox_credentials(path: Path) -> dict[str, str]:
    with contextlib.suppress(FileExistsError):
        write_private(
            path,
            json.dumps(
                {
                    "CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY": "EMB_sandbox" + secrets.token_hex(8),
                    "CRONOFY_SCHEDULER_EMBED_SECRET": "ESK_sandbox" + secrets.token_hex(24),
                    "CRONOFY_CLIENT_SECRET": "CRN_sandbox" + secrets.token_hex(20),
                }
            ),
        )
    return json.loads(path.read_text())
