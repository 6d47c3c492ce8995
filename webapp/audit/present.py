"""An audit entry as the API answers it, as the CSV export writes it, and in words for the
page (action and target names people read rather than the log's dotted names)."""

from __future__ import annotations

import json
from typing import Any

from webapp.audit import actions
from webapp.models import AuditEvent
from webapp.templating import iso_utc

# What each kind of target is called on the page; a group without one reads as its words.
TARGET_WORDS = {
    actions.TARGET_USER: "User",
    actions.TARGET_PUBLIC_LINK: "Public Link",
    actions.TARGET_TRACKED_LINK: "Tracked link",
    actions.TARGET_API_TOKEN: "API token",
    actions.TARGET_WEBHOOK_ENDPOINT: "Webhook endpoint",
    actions.TARGET_DELIVERY: "Notification",
    actions.TARGET_SETTINGS: "Settings",
    actions.TARGET_INVITEE: "Invitee",
    "auth": "Sign-in",
    "retention": "Retention",
}
ACTION_WORDS = {
    actions.SIGN_IN: "Signed in",
    actions.SIGN_IN_FAILED: "Sign-in failed",
    actions.TRACKED_LINK_BULK_IMPORTED: "Tracked link created by bulk upload",
    actions.DELIVERY_REPROCESSED: "Notification reprocessed",
    actions.RETENTION_PURGED: "Old data purged",
}

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


def target_words(kind: str | None) -> str:
    """'webhook_endpoint' -> 'Webhook endpoint'."""
    if not kind:
        return ""
    return TARGET_WORDS.get(kind) or kind.replace("_", " ").capitalize()


def action_words(action: str) -> str:
    """'user.role_changed' -> 'User role changed': the log's name, read aloud."""
    if action in ACTION_WORDS:
        return ACTION_WORDS[action]
    group, _, verb = action.partition(".")
    return f"{target_words(group)} {verb.replace('_', ' ')}".strip()
