"""Fill a benchmark database quickly: migrations, a user, Public Links, tracked links with a
visit each, and Scheduling Requests with the delivery that made each one.

Rows go in with SQLAlchemy Core executemany inserts in one transaction per table (100,000
rows in seconds); Python-side column defaults still apply, so new model columns with
defaults need no change here. The app itself is used only through create_app() pointed at
the same DATABASE_URL as the server, exactly like an operator's second process would.

Standalone: `python -m benchmarks.seed DATABASE_URL --links 10000 --requests 10000`.
"""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import insert

from benchmarks.servers import app_env
from tests.support.factories import make_user

BATCH = 5_000
# Seeded activity runs back from now, newest first, at the same pace in every database: a
# bigger one holds more *history* (10,000 rows cover 90 days, 100,000 rows 900 days), so the
# scale figures show whether a page's cost grows with history, not with what happened in
# the period it shows (the insights' 30 days and the tiles' 7 hold as much in both).
PER_DAY = 10_000 / 90


def spread(count: int) -> timedelta:
    """How far back `count` seeded rows reach."""
    return timedelta(days=max(count, 1) / PER_DAY)


STATUSES = ("time_chosen",) * 8 + ("rescheduled", "declined")
EMAIL = "bench@example.com"  # the benchmarks' signed-in user (an admin)
PASSWORD = "bench-password-" + "x" * 12


def open_app(env: dict[str, str]) -> Flask:
    """A second create_app() on the server's database and instance folder (no server)."""
    from webapp import create_app

    return create_app(
        {
            "INSTANCE_PATH": env["WEBAPP_INSTANCE_PATH"],
            "DATABASE_URL": env["DATABASE_URL"],
            "SECRET_KEY": env["SECRET_KEY"],
            "CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY": env["CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY"],
            "CRONOFY_SCHEDULER_EMBED_SECRET": env["CRONOFY_SCHEDULER_EMBED_SECRET"],
            "CRONOFY_CLIENT_SECRET": env["CRONOFY_CLIENT_SECRET"],
            "WEBAPP_SANDBOX": False,
        }
    )


def migrate(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


def create_user(app: Flask, email: str, password: str, role: str = "admin") -> int:
    with app.app_context():
        return make_user(email=email, role=role, name="Bench Mark", password=password).id


def _insert(model: type, rows: Iterator[dict[str, Any]]) -> int:
    from webapp.extensions import db

    count, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            db.session.execute(insert(model), batch)
            count, batch = count + len(batch), []
    if batch:
        db.session.execute(insert(model), batch)
        count += len(batch)
    return count


def seed_links(
    app: Flask, owner_id: int, count: int, public_links: int = 5, visits: bool = True
) -> list[tuple[str, str]]:
    """`count` tracked links (ids 1..count) spread over a few Public Links; returns
    (slug, correlation_id) pairs. Each link gets one human visit when `visits`."""
    from webapp.extensions import db
    from webapp.models import PublicLink, TrackedLink, Visit

    now = datetime.now(UTC)
    pairs = [(secrets.token_urlsafe(9), f"bench-{i:07d}") for i in range(count)]
    with app.app_context():
        _insert(
            PublicLink,
            (
                {
                    "id": p + 1,
                    "name": f"Interviews {p + 1}",
                    "url": f"https://app.cronofy.com/pls/BENCH{p + 1:03d}",
                    "owner_id": owner_id,
                }
                for p in range(public_links)
            ),
        )
        _insert(
            TrackedLink,
            (
                {
                    "id": i + 1,
                    "public_link_id": i % public_links + 1,
                    "slug": slug,
                    "correlation_id": correlation_id,
                    "label": f"Candidate {i:07d}",
                    "utm_source": "benchmark",
                    "utm_medium": "email",
                    "created_by_id": owner_id,
                    "created_at": now - spread(count) * (i / max(count, 1)),
                }
                for i, (slug, correlation_id) in enumerate(pairs)
            ),
        )
        if visits:
            _insert(
                Visit,
                (
                    {
                        "tracked_link_id": i + 1,
                        "at": now - spread(count) * (i / max(count, 1)),
                        "jti": secrets.token_hex(16),
                        "agent_class": "human",
                        "outcome": "redirect",
                    }
                    for i in range(count)
                ),
            )
        db.session.commit()
    return pairs


def invitee_email(i: int) -> str:
    return f"invitee-{i:07d}@example.com"


def seed_requests(app: Flask, owner_id: int, count: int, links: int, public_links: int = 5) -> int:
    """`count` Scheduling Requests (request i tied to tracked link i+1 while i < links), each
    with the applied delivery that created it and its free-text search terms, newest first
    by `updated_at`."""
    from tests.support.deliveries import example_payload
    from webapp.extensions import db
    from webapp.models import DELIVERY_APPLIED, Delivery, SchedulingRequest
    from webapp.models.bookings import SchedulingRequestTerm
    from webapp.models.search_terms import search_terms

    template = example_payload()
    now = datetime.now(UTC)

    def payload(i: int, at: datetime) -> dict[str, Any]:
        body = json.loads(json.dumps(template))
        request = body["scheduling_request"]
        body["notification"]["triggered_at"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        request["scheduling_request_id"] = f"srq_bench{i:015d}"
        request["recipients"][0].update(email=invitee_email(i), display_name=f"Invitee {i:07d}")
        request["event"]["metadata"]["scheduler"]["correlation_id"] = f"bench-{i:07d}"
        return body

    def rows() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        for i in range(count):
            at = now - spread(count) * (i / max(count, 1))
            body = payload(i, at)
            request = body["scheduling_request"]
            scheduler = request["event"]["metadata"]["scheduler"]
            correlation_id = scheduler["correlation_id"]
            linked = i < links
            delivery = {
                "id": i + 1,
                "received_at": at,
                "body_sha256": secrets.token_hex(32),
                "body": json.dumps(body, separators=(",", ":")).encode(),
                "type": body["notification"]["type"],
                "triggered_at": at,
                "scheduling_request_id": request["scheduling_request_id"],
                "status": DELIVERY_APPLIED,
                "processed_at": at,
            }
            scheduling_request = {
                "id": i + 1,
                "scheduling_request_id": request["scheduling_request_id"],
                "tracked_link_id": i + 1 if linked else None,
                "public_link_id": i % public_links + 1 if linked else None,
                "owner_id": owner_id if linked else None,
                "correlation_id": correlation_id,
                "status": STATUSES[i % len(STATUSES)],
                "last_triggered_at": at,
                "summary": request["summary"],
                "recipients": request["recipients"],
                "duration_minutes": request["duration"]["minutes"],
                "slot_selection": request["slot_selection"],
                "dashboard_url": request["dashboard_url"],
                "recipient_operations": request["recipient_operations"],
                "captured_data": {
                    key.removeprefix("captured_data."): value
                    for key, value in scheduler.items()
                    if key.startswith("captured_data.")
                },
                "utm": {key: value for key, value in scheduler.items() if key.startswith("utm_")},
                "notification_count": 1,
                "last_delivery_id": i + 1,
                "first_notified_at": at,
                "updated_at": at,
            }
            yield delivery, scheduling_request

    def terms(requests: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """The free-text search's terms, as the receiver's apply stores them."""
        for request in requests:
            for term in search_terms(request):
                yield {"scheduling_request_pk": request["id"], "term": term}

    def flush(deliveries: list[dict[str, Any]], requests: list[dict[str, Any]]) -> None:
        _insert(Delivery, iter(deliveries))
        _insert(SchedulingRequest, iter(requests))
        _insert(SchedulingRequestTerm, terms(requests))

    with app.app_context():
        deliveries: list[dict[str, Any]] = []
        requests: list[dict[str, Any]] = []
        for delivery, scheduling_request in rows():  # in batches: bounded memory
            deliveries.append(delivery)
            requests.append(scheduling_request)
            if len(requests) >= BATCH:
                flush(deliveries, requests)
                deliveries, requests = [], []
        flush(deliveries, requests)
        db.session.commit()
    return count


def prepare_app(workdir: Path, links: int, requests: int = 0) -> tuple[dict[str, str], list]:
    """A migrated, seeded database for a server (no server yet): its environment and the
    tracked links' (slug, correlation_id) pairs. Scheduling Requests only when asked."""
    env = app_env(workdir)
    app = open_app(env)
    migrate(app)
    owner = create_user(app, EMAIL, PASSWORD)
    pairs = seed_links(app, owner, links, visits=requests > 0)
    if requests:
        seed_requests(app, owner, requests, links=links)
    from webapp.extensions import db

    with app.app_context():
        db.engine.dispose()  # no connection of ours stays open on the server's database
    return env, pairs


def main() -> None:
    parser = argparse.ArgumentParser(description="seed a benchmark database")
    parser.add_argument("workdir", type=Path, nargs="?", default=None)
    parser.add_argument("--links", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=10_000)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-seed-"))
    env, _ = prepare_app(workdir, args.links, args.requests)
    print(f"seeded {env['DATABASE_URL']} (sign in as {EMAIL} / {PASSWORD})")


if __name__ == "__main__":
    main()
