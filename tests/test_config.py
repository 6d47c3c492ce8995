"""Configuration precedence and derived settings (DESIGN §3)."""

import os
import stat

import pytest

from webapp import create_app
from webapp.config import ConfigError, split_secrets

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
        "WEBAPP_INSTANCE_PATH",
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
