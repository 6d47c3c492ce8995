"""The harness of the per-action audit tests. Each case performs one action for real (a
page, the API or the CLI) and returns the entry it must have written; `check_case` runs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from tests.audit.support import Install, entries
from webapp.extensions import db

ADMIN = "admin@example.com"
STAFF = "staff@example.com"
LOCAL = "127.0.0.1"


@dataclass
class Ctx:
    install: Install
    admin: Any  # signed-in admin client
    staff: Any  # signed-in staff client
    fresh: Callable[[], Any]  # a new, anonymous client
    runner: Any

    def one(self, model: type, **where: Any) -> Any:
        with self.install.app.app_context():
            row = db.session.execute(select(model).filter_by(**where)).scalar_one()
            db.session.expunge(row)
        return row


def expect(action, actor, target, changes, address=LOCAL):  # type: ignore[no-untyped-def]
    return {
        "action": action,
        "actor": actor,
        "address": address,
        "target": target,
        "changes": changes,
    }


def target(kind: str, ident: int | None, name: str | None) -> dict[str, Any]:
    return {"type": kind, "id": ident, "name": name}


def check_case(c: Ctx, case: Callable[[Ctx], dict[str, Any]]) -> None:
    """Run the case; the expected entry must be among the new ones, exactly."""
    before = {entry["id"] for entry in entries(c.install.app)}
    wanted = case(c)
    new = [entry for entry in entries(c.install.app) if entry["id"] not in before]
    mine = [entry for entry in new if entry["action"] == wanted["action"]]
    assert mine, f"no {wanted['action']} entry; new entries: {new}"
    entry = mine[-1]
    assert {key: entry[key] for key in wanted} == wanted
    assert entry["at"].endswith("Z") and isinstance(entry["id"], int)
