"""Configuration precedence and derived settings (docs/architecture.md)."""

import os
import stat
from contextlib import contextmanager

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from webapp import create_app
from webapp.config import ConfigError, split_secrets
from webapp.database import BACKGROUND_THREADS
from webapp.extensions import db

CREDENTIAL_NAMES = (
    "CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY",
    "CRONOFY_SCHEDULER_EMBED_SECRET",
    "CRONOFY_CLIENT_SECRET",
)


@pytest.fixture
def clean_env(monkeypatch):
    for name in (
        *CREDENTIAL_NAMES,
        "SECRET_KEY",
        "DATABASE_URL",
        "WEBAPP_SANDBOX",
        "CLAIM_TOKEN_TTL",
        "PUBLIC_BASE_URL",
        "SESSION_COOKIE_SECURE",
        "TRUSTED_PROXIES",
        "TRUSTED_HOSTS",
        "WEBAPP_INSTANCE_PATH",
        "WEBAPP_WORKER_THREADS",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def build(tmp_path, **test_config):
    return create_app({"INSTANCE_PATH": str(tmp_path / "instance"), **test_config})


def test_secret_key_generated_once_into_instance_with_mode_600(tmp_path, clean_env):
    first = build(tmp_path)
    second = build(tmp_path)
    key_file = tmp_path / "instance" / "secret_key"
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 32
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_default_database_is_sqlite_in_instance(tmp_path, clean_env):
    app = build(tmp_path)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    assert uri.startswith("sqlite:///") and str(tmp_path / "instance") in uri


def test_precedence_defaults_instance_file_environment_test_config(tmp_path, clean_env):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(
        "CLAIM_TOKEN_TTL = 600\nPUBLIC_BASE_URL = 'https://file.example'\nTRUSTED_PROXIES = 1\n"
    )
    assert build(tmp_path).config["CLAIM_TOKEN_TTL"] == 600
    clean_env.setenv("CLAIM_TOKEN_TTL", "900")
    clean_env.setenv("PUBLIC_BASE_URL", "https://env.example/")
    app = build(tmp_path)
    assert app.config["CLAIM_TOKEN_TTL"] == 900
    assert app.config["PUBLIC_BASE_URL"] == "https://env.example"
    assert app.config["TRUSTED_PROXIES"] == 1
    assert build(tmp_path, CLAIM_TOKEN_TTL=120).config["CLAIM_TOKEN_TTL"] == 120


@pytest.mark.parametrize("ttl", ["59", "14401", "abc"])
def test_claim_token_ttl_out_of_range_is_refused(tmp_path, clean_env, ttl):
    clean_env.setenv("CLAIM_TOKEN_TTL", ttl)
    with pytest.raises(ConfigError):
        build(tmp_path)


def test_postgres_urls_use_psycopg3(tmp_path, clean_env):
    clean_env.setenv("DATABASE_URL", "postgres://u:p@db.internal/links")
    app = build(tmp_path)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.internal/links"


def pool_sizes(app):
    with app.app_context():
        return {key: engine.pool.size() for key, engine in db.engines.items()}


def test_a_database_servers_pool_keeps_a_connection_for_every_worker_thread(tmp_path, clean_env):
    clean_env.setenv("DATABASE_URL", "postgresql://u:p@db.internal/links")
    assert set(pool_sizes(build(tmp_path)).values()) == {5}  # not under gunicorn: the default
    clean_env.setenv("WEBAPP_WORKER_THREADS", "32")
    assert set(pool_sizes(build(tmp_path)).values()) == {32 + BACKGROUND_THREADS}
    (tmp_path / "instance").mkdir(exist_ok=True)
    (tmp_path / "instance" / "config.py").write_text(
        "SQLALCHEMY_ENGINE_OPTIONS = {'pool_size': 3}\n"
    )
    assert set(pool_sizes(build(tmp_path)).values()) == {3}  # the operator's choice wins


def test_sandbox_on_without_credentials_generates_them_once(tmp_path, clean_env):
    app = build(tmp_path)
    assert app.config["WEBAPP_SANDBOX"] is True
    assert app.config["CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY"].startswith("EMB_sandbox")
    assert app.config["CRONOFY_SCHEDULER_EMBED_SECRET"].startswith("ESK_")
    assert app.config["CLIENT_SECRETS"]
    again = build(tmp_path)
    assert (
        again.config["CRONOFY_SCHEDULER_EMBED_SECRET"]
        == app.config["CRONOFY_SCHEDULER_EMBED_SECRET"]
    )
    stored = tmp_path / "instance" / "sandbox_credentials.json"
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600


def test_sandbox_off_once_real_credentials_are_set(tmp_path, clean_env):
    clean_env.setenv("CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY", "EMB_real")
    clean_env.setenv("CRONOFY_SCHEDULER_EMBED_SECRET", "ESK_real")
    clean_env.setenv("CRONOFY_CLIENT_SECRET", "CRN_a, CRN_b")
    app = build(tmp_path)
    assert app.config["WEBAPP_SANDBOX"] is False
    assert app.config["CLIENT_SECRETS"] == ["CRN_a", "CRN_b"]
    assert not (tmp_path / "instance" / "sandbox_credentials.json").exists()


def test_sandbox_can_be_forced_off_without_credentials(tmp_path, clean_env):
    clean_env.setenv("WEBAPP_SANDBOX", "0")
    app = build(tmp_path)
    assert app.config["WEBAPP_SANDBOX"] is False
    assert app.config["CLIENT_SECRETS"] == []
    assert not app.config["CRONOFY_SCHEDULER_EMBED_SECRET"]


def test_invalid_flag_is_a_clear_error(tmp_path, clean_env):
    clean_env.setenv("WEBAPP_SANDBOX", "maybe")
    with pytest.raises(ConfigError, match="WEBAPP_SANDBOX"):
        build(tmp_path)


def test_session_cookie_defaults(tmp_path, clean_env):
    app = build(tmp_path)
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 12 * 3600
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    clean_env.setenv("SESSION_COOKIE_SECURE", "1")
    assert build(tmp_path).config["SESSION_COOKIE_SECURE"] is True


def test_split_secrets():
    assert split_secrets(" a ,b,, c ") == ["a", "b", "c"]
    assert split_secrets(None) == []


# -- TRUSTED_HOSTS and PUBLIC_BASE_URL ------------------------------------------------------


def test_trusted_hosts_default_to_the_loopback_names_in_development(tmp_path, clean_env):
    assert build(tmp_path).config["TRUSTED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]


def test_trusted_hosts_default_to_public_base_urls_host(tmp_path, clean_env):
    clean_env.setenv("PUBLIC_BASE_URL", "https://Links.Example.com:8443/")
    app = build(tmp_path)
    assert app.config["TRUSTED_HOSTS"] == ["links.example.com"]
    assert app.config["PUBLIC_BASE_URL"] == "https://Links.Example.com:8443"


def test_a_loopback_public_base_url_trusts_every_loopback_name(tmp_path, clean_env):
    clean_env.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    assert build(tmp_path).config["TRUSTED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]


def test_trusted_hosts_from_the_environment(tmp_path, clean_env):
    clean_env.setenv("PUBLIC_BASE_URL", "https://links.example.com")
    clean_env.setenv("TRUSTED_HOSTS", " links.example.com, .Corp.example ,,127.0.0.1")
    hosts = build(tmp_path).config["TRUSTED_HOSTS"]
    assert hosts == ["links.example.com", ".corp.example", "127.0.0.1"]
    clean_env.setenv("TRUSTED_HOSTS", "*")
    assert build(tmp_path).config["TRUSTED_HOSTS"] is None  # Flask: any host


@pytest.mark.parametrize("value", ["https://links.example.com", "links.example.com/app"])
def test_trusted_hosts_are_names_not_urls(tmp_path, clean_env, value):
    clean_env.setenv("TRUSTED_HOSTS", value)
    with pytest.raises(ConfigError, match="TRUSTED_HOSTS"):
        build(tmp_path)


@pytest.mark.parametrize(
    "value",
    [
        "links.example.com",
        "ftp://links.example.com",
        "https://u:p@x.example",
        "https://x.example/?a=1",
    ],
)
def test_public_base_url_must_be_an_origin(tmp_path, clean_env, value):
    clean_env.setenv("PUBLIC_BASE_URL", value)
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        build(tmp_path)


# -- Owner-only files and folders -----------------------------------------------------------


@contextmanager
def umask(value: int):
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o000, 0o077])
def test_the_instance_folder_is_created_owner_only(tmp_path, clean_env, mask):
    with umask(mask):
        build(tmp_path)
    assert mode(tmp_path / "instance") == 0o700
    assert mode(tmp_path / "instance" / "secret_key") == 0o600


def test_an_existing_instance_folder_is_made_owner_only(tmp_path, clean_env):
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    os.chmod(instance, 0o755)  # as a git checkout leaves it (instance/.keep)
    build(tmp_path)
    assert mode(instance) == 0o700


@pytest.mark.parametrize("mask", [0o022, 0o000])
def test_the_default_sqlite_file_is_created_owner_only(tmp_path, clean_env, mask):
    with umask(mask):
        app = build(tmp_path)
        with app.app_context():
            db.session.execute(text("CREATE TABLE t (x INTEGER)"))
            db.session.execute(text("INSERT INTO t VALUES (1)"))
            db.session.commit()
            database = tmp_path / "instance" / "webapp.sqlite3"
            assert mode(database) == 0o600
            assert mode(f"{database}-wal") == 0o600  # SQLite copies the database's mode
            db.engine.dispose()


def test_migrations_create_the_sqlite_file_owner_only(tmp_path, clean_env):
    database = tmp_path / "elsewhere" / "links.sqlite3"
    database.parent.mkdir()
    clean_env.setenv("DATABASE_URL", f"sqlite:///{database}")
    with umask(0o022):
        app = build(tmp_path)
        with app.app_context():
            upgrade()
            db.engine.dispose()
    assert mode(database) == 0o600
