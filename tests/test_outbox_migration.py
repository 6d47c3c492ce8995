"""The outbox migration moves the sandbox's old outbox rows into the shared outbox."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from tests.support.config import make_test_config
from webapp import create_app
from webapp.extensions import db


def test_sandbox_outbox_rows_move_into_the_shared_outbox_and_back(tmp_path):
    database = f"sqlite:///{tmp_path / 'moving.sqlite3'}"
    app = create_app(make_test_config(tmp_path, SQLALCHEMY_DATABASE_URI=database))
    with app.app_context():
        upgrade(revision="ac2842901cdf")
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO sandbox_outbox (notification_type, url, body, signature, "
                    "created_at, attempts, next_attempt_at) VALUES ('scheduling_request_time_"
                    "chosen', 'http://127.0.0.1:9/r', X'7B7D', 'sig=', :at, 2, :at)"
                ),
                {"at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).replace(tzinfo=None)},
            )
        upgrade()
        with db.engine.connect() as connection:
            [row] = connection.execute(sa.text("SELECT * FROM outbox_messages")).mappings().all()
            assert (row["kind"], row["topic"], row["target"]) == (
                "sandbox",
                "scheduling_request_time_chosen",
                "http://127.0.0.1:9/r",
            )
            assert bytes(row["body"]) == b"{}" and row["attempts"] == 2
            assert "sig=" in row["headers"] and row["message_id"].startswith("msg_")
            assert "sandbox_outbox" not in sa.inspect(connection).get_table_names()
        downgrade(revision="ac2842901cdf")
        with db.engine.connect() as connection:
            [back] = connection.execute(sa.text("SELECT * FROM sandbox_outbox")).mappings().all()
            assert (back["signature"], back["attempts"]) == ("sig=", 2)
        db.engine.dispose()
