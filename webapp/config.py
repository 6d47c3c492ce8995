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

from flask import Flask

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
    "LOGIN_THROTTLE_LIMIT": 10,
    "LOGIN_THROTTLE_WINDOW": timedelta(minutes=15),
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:600000",
    "SSE_POLL_INTERVAL": 0.25,
    "SSE_HEARTBEAT": 15.0,
    "SSE_MAX_DURATION": 300.0,  # a stream ends and the browser reconnects from its cursor
    # Outbound messages (webapp/outbox/, webapp/outbound/, webapp/mail/).
    "OUTBOX_WORKER": None,  # None: a sending thread per process, except under TESTING
    "MAIL_URL": None,  # smtp://user:pass@host:port, smtps://..., ?starttls=1; unset: no email
    "MAIL_FROM": None,
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": False,
    "OUTBOUND_CONNECT_TIMEOUT": 5.0,
    "OUTBOUND_READ_TIMEOUT": 10.0,
}

ENV_STRINGS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY",
    "CRONOFY_SCHEDULER_EMBED_SECRET",
    "CRONOFY_CLIENT_SECRET",
    "PUBLIC_BASE_URL",
    "MAIL_URL",
    "MAIL_FROM",
)
ENV_FLAGS = (
    "WEBAPP_SANDBOX",
    "SESSION_COOKIE_SECURE",
    "WEBHOOK_ALLOW_PRIVATE_TARGETS",
    "OUTBOX_WORKER",
)
ENV_INTS = ("CLAIM_TOKEN_TTL", "TRUSTED_PROXIES", "OUTBOX_CLAIM_SECONDS")

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
    instance.mkdir(parents=True, exist_ok=True)

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
    config["SESSION_COOKIE_SECURE"] = bool(parse_flag(config["SESSION_COOKIE_SECURE"]))
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    if config.get("PUBLIC_BASE_URL"):
        config["PUBLIC_BASE_URL"] = str(config["PUBLIC_BASE_URL"]).rstrip("/")

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


def split_secrets(value: str | None) -> list[str]:
    """CRONOFY_CLIENT_SECRET may hold several secrets, comma-separated (rotation)."""
    if not value:
        return []
    return [part.strip() for part in str(value).split(",") if part.strip()]


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


def _write_private(path: Path, text: str) -> None:
    """Create path (mode 600) atomically; FileExistsError if another process won the race.

    Written to a temporary file first and hard-linked into place, so that a concurrent
    reader (several gunicorn workers start at once) never sees a half-written file.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _read_or_create_secret(path: Path) -> str:
    with contextlib.suppress(FileExistsError):
        _write_private(path, secrets.token_hex(32))
    return path.read_text().strip()


def _read_or_create_sandbox_credentials(path: Path) -> dict[str, str]:
    with contextlib.suppress(FileExistsError):
        _write_private(
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
