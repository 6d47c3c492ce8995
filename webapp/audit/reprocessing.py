"""Audit entries for reprocessed deliveries, recorded by the event log's views and the CLI.

Reprocessing commits in the receiver's own transaction, which this package does not
reach into, so the entry is written just after it (`record_now`).
"""

from __future__ import annotations

from collections.abc import Mapping

from webapp.audit import actions
from webapp.audit.log import Target, record_now
from webapp.extensions import db
from webapp.models import Delivery


def record_reprocessed(delivery_id: int, outcome: str) -> None:
    """One delivery was reprocessed by hand; `outcome` is its status now."""
    delivery = db.session.get(Delivery, delivery_id)
    name = (delivery.scheduling_request_id if delivery else None) or f"delivery {delivery_id}"
    target = Target(actions.TARGET_DELIVERY, delivery_id, name)
    record_now(actions.DELIVERY_REPROCESSED, target, {"outcome": outcome})


def record_reprocessed_failed(counts: Mapping[str, int]) -> None:
    """Every failed delivery was reprocessed; `counts` says how many ended in each status."""
    if not counts:
        return
    target = Target(actions.TARGET_DELIVERY, None, "every failed delivery")
    record_now(actions.DELIVERY_REPROCESSED, target, {"outcome": dict(counts)})
