"""The test app's configuration: fresh secrets per app, and the database under test.

TEST_DATABASE_URL (CI's PostgreSQL run) replaces the default SQLite file in the test's folder.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


def make_test_config(tmp_path: Path, **overrides) -> dict:
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": secrets.token_hex(16),
        "WTF_CSRF_ENABLED": False,
        "WEBAPP_SANDBOX": False,
        "CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY": "EMB_test" + secrets.token_hex(6),
        "CRONOFY_SCHEDULER_EMBED_SECRET": "ESK_test" + secrets.token_hex(20),
        "CRONOFY_CLIENT_SECRET": "CRN_test" + secrets.token_hex(20),
        # Tests hash many passwords; the production cost is checked in test_passwords.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "SSE_POLL_INTERVAL": 0.01,
    }
    if TEST_DATABASE_URL:
        config["SQLALCHEMY_DATABASE_URI"] = TEST_DATABASE_URL
    else:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'test.sqlite3'}"
    config.update(overrides)
    return config
