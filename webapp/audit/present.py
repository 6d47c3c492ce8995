"""An audit entry as the API answers it and as the CSV export writes it."""

from __future__ import annotations

import json
from typing import Any

from webapp.models import AuditEvent
from webapp.templating import iso_utc

CSV_HEADER = (
    "at",
    "actor",
    "address",
    "action",
    "target_type",
    "target_id",
    "target_name",
    "changes",
)


def entry_json(entry: AuditEvent) -> dict[str, Any]:
    """The documented item: id, at, actor (email, or null for the system), address,
    action, target {type, id, name} and changes {field: [before, after]}."""
    return {
        "id": entry.id,
        "at": iso_utc(entry.at),
        "actor": entry.actor_email,
        "address": entry.address,
        "action": entry.action,
        "target": {"type": entry.target_type, "id": entry.target_id, "name": entry.target_name},
        "changes": entry.changes or {},
    }


def csv_row(entry: AuditEvent) -> list[object]:
    return [
        iso_utc(entry.at),
        entry.actor_email or "",
        entry.address,
        entry.action,
        entry.target_type or "",
        "" if entry.target_id is None else entry.target_id,
        entry.target_name or "",
        json.dumps(entry.changes or {}, ensure_ascii=False, sort_keys=True),
    ]


def change_lines(changes: dict[str, Any] | None) -> list[tuple[str, Any, Any, bool]]:
    """(field, before, after, is_change) per field, for the page: a [before, after] pair is
    a change; any other value (a reprocessing outcome, counts) is shown as it is."""
    lines = []
    for name, value in (changes or {}).items():
        if isinstance(value, list) and len(value) == 2:
            lines.append((name, value[0], value[1], True))
        else:
            lines.append((name, None, value, False))
    return lines
