"""The migrations build exactly the schema the models describe, on the suite's database."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from tests.support.config import TEST_DATABASE_URL, make_test_config
from webapp import create_app
from webapp.extensions import db


def _differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_migrated_schema_matches_the_models(app):
    # The suite's database (SQLite template or PostgreSQL) was built by the migrations.
    with app.app_context():
        assert _differences() == [], "models and migrations differ: run flask db migrate"


def test_downgrade_to_base_and_upgrade_again(tmp_path):
    overrides = {}
    if TEST_DATABASE_URL:
        # Keep the shared PostgreSQL schema; the round trip runs on a SQLite file here.
        overrides["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'roundtrip.sqlite3'}"
    app = create_app(make_test_config(tmp_path, **overrides))
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) - {"alembic_version"} == set()
        upgrade()
        assert _differences() == []
        db.engine.dispose()
