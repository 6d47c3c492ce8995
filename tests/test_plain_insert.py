"""database.PlainInsert: the batch INSERT ... ON CONFLICT DO NOTHING RETURNING that the
receiver and the applier run through the driver, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.support.bookings import make_request
from webapp.database import PlainInsert, insert_plain, write_connection
from webapp.extensions import db
from webapp.models import Delivery
from webapp.models.search_terms import TERMS
from webapp.webhooks import store

DELIVERIES = Delivery.__table__
START = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def row(n: int) -> dict[str, object]:
    return {
        "body": f'{{"n": {n}}}'.encode(),
        "body_sha256": f"{n:064x}",
        "received_at": START + timedelta(seconds=n),
        "type": "smart_invite_notification",
        "triggered_at": None,
        "scheduling_request_id": f"srq_{n}",
        "status": "pending",
        "error": None,
        "processed_at": None,
    }


def test_a_batch_of_any_size_is_stored_once_and_answered_by_key(app):
    """150 rows take several statements (powers of two); the same rows again insert
    nothing, and a batch mixing old and new rows answers for the new ones only."""
    insert = PlainInsert(DELIVERIES, store.DELIVERY_COLUMNS, "body_sha256")
    with app.app_context():
        dialect = db.engine.dialect
        with write_connection(db.engine) as connection:
            ids = insert.run(connection, [insert.values(dialect, row(n)) for n in range(150)])
        assert sorted(ids) == sorted(f"{n:064x}" for n in range(150))
        assert len(set(ids.values())) == 150
        with write_connection(db.engine) as connection:
            mixed = [insert.values(dialect, row(n)) for n in range(148, 153)]
            again = insert.run(connection, mixed)
        assert sorted(again) == [f"{n:064x}" for n in (150, 151, 152)]
        stored = db.session.get(Delivery, ids[f"{7:064x}"])
        # Each value went through its column's own type: an aware UTC datetime comes back.
        assert stored.received_at == START + timedelta(seconds=7)
        assert stored.body == b'{"n": 7}' and stored.scheduling_request_id == "srq_7"
        assert db.session.query(Delivery).count() == 153


def test_a_column_with_a_default_cannot_be_left_out():
    """The driver would not apply a Python-side default, so leaving one out is refused."""
    with pytest.raises(ValueError, match="received_at"):
        PlainInsert(DELIVERIES, ("body", "body_sha256"), "body_sha256")
    with pytest.raises(ValueError, match="not all columns"):
        PlainInsert(DELIVERIES, (*store.DELIVERY_COLUMNS, "no_such_column"), "body_sha256")


def test_plain_rows_of_any_count_are_inserted_in_statements_of_many_rows(app):
    """insert_plain (the search terms): 150 rows take statements of 64, 64, 16, 4 and 2 rows;
    every row goes in once, its values in the order of the columns named, whatever the
    table's own order."""
    terms = TERMS
    with app.app_context():
        request_id = make_request("srq_terms").id
        db.session.commit()  # no read snapshot from before the insert
        with write_connection(db.engine) as connection:
            insert_plain(
                connection,
                terms,
                ("term", "scheduling_request_pk"),
                [(f"term{n:03}", request_id) for n in range(150)],
            )
        stored = db.session.execute(
            select(terms.c.scheduling_request_pk, terms.c.term)
            .where(terms.c.term.startswith("term"))
            .order_by(terms.c.term)
        ).all()
        assert [tuple(row) for row in stored] == [(request_id, f"term{n:03}") for n in range(150)]
