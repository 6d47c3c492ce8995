"""The events outbound webhooks carry, and the functions that queue them.

Each emit_* function is called inside the write transaction of the change that causes the
event: it queues one outbox message per subscribed, enabled endpoint (and the owner's email
for a booking change), all committed with the change or not at all. Nothing is sent here.

Where each is called:
- emit_scheduling_request_event: the receiver, for each notification it applies (not for
  a stale or duplicate one), after the Scheduling Request row is written;
- emit_tracked_link_created: webapp/links/service.py (page and API) and bulk.py (CSV);
- emit_tracked_link_clicks: where a person's visit (agent "human", outcome "redirect") is
  written, i.e. webapp/tracking/visits.py's flush transaction, with (tracked link id, time)
  per visit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from webapp import outbox
from webapp.absolute import public_url
from webapp.extensions import db
from webapp.mail import bookings as booking_mail
from webapp.models import (
    ENDPOINT_SLACK,
    SchedulingRequest,
    TrackedLink,
    Visit,
    WebhookEndpoint,
    utcnow,
)
from webapp.models.retention import purged_visits
from webapp.outbound import slack
from webapp.serializers import scheduling_request_json, tracked_link_json
from webapp.templating import iso_utc

TIME_CHOSEN = "scheduling_request.time_chosen"
RESCHEDULED = "scheduling_request.rescheduled"
DECLINED = "scheduling_request.declined"
UPDATED = "scheduling_request.updated"
LINK_CREATED = "tracked_link.created"
LINK_CLICKED = "tracked_link.clicked"
TEST_EVENT = "webhook.test"

EVENT_TYPES = (TIME_CHOSEN, RESCHEDULED, DECLINED, UPDATED, LINK_CREATED, LINK_CLICKED)
DEFAULT_EVENTS = (TIME_CHOSEN, RESCHEDULED, DECLINED, UPDATED, LINK_CREATED)  # clicks: opt-in
EVENT_LABELS = {
    TIME_CHOSEN: "A time was chosen (booked)",
    RESCHEDULED: "A booking was rescheduled",
    DECLINED: "A booking was declined",
    UPDATED: "Any other change to a Scheduling Request",
    LINK_CREATED: "A tracked link was created",
    LINK_CLICKED: "A person clicked a tracked link (can be many)",
}
BOOKING_EVENTS = (TIME_CHOSEN, RESCHEDULED, DECLINED)

_CACHE = "outbound.enabled_endpoints"
_BY_NOTIFICATION = {
    "scheduling_request_time_chosen": TIME_CHOSEN,
    "scheduling_request_rescheduled": RESCHEDULED,
    "scheduling_request_declined": DECLINED,
}


def event_for_notification(notification_type: str | None) -> str:
    """A Cronofy notification type's event: any type not named here is `updated`."""
    return _BY_NOTIFICATION.get(notification_type or "", UPDATED)


def webhook_body(event: str, data: dict[str, Any], now: datetime) -> bytes:
    payload = {"type": event, "timestamp": iso_utc(now), "data": data}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def enabled_endpoints() -> list[WebhookEndpoint]:
    """The enabled endpoints, read once per transaction: the receiver emits for every
    notification of a batch, and one query per batch keeps its hot path as it was."""
    transaction = db.session().get_transaction()  # scoped_session does not proxy it
    cached = db.session.info.get(_CACHE)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1]
    endpoints = list(
        db.session.scalars(
            db.select(WebhookEndpoint)
            .where(WebhookEndpoint.enabled.is_(True))
            .order_by(WebhookEndpoint.id)
        )
    )
    if transaction is not None:
        db.session.info[_CACHE] = (transaction, endpoints)
    return endpoints


def anyone_subscribes(connection: Connection, events: Collection[str]) -> bool:
    """Whether an enabled endpoint subscribes to any of `events`, asked on a Core
    connection, before any ORM work: the visit writer and the applier ask it for every
    batch, and without endpoints the answer is no."""
    rows = connection.execute(_ENABLED_EVENTS)
    return any(not set(events).isdisjoint(subscribed or []) for (subscribed,) in rows)


def anyone_hears(connection: Connection, notification_types: Iterable[str | None]) -> bool:
    """Whether applying notifications of these types would queue anything: a subscribed
    endpoint, or the owner's email for a booking change (in an app context)."""
    events = {event_for_notification(kind) for kind in notification_types}
    if not events.isdisjoint(BOOKING_EVENTS) and booking_mail.enabled():
        return True
    return anyone_subscribes(connection, events)


_ENABLED_EVENTS = select(WebhookEndpoint.events).where(WebhookEndpoint.enabled.is_(True))


def subscribed_endpoints(event: str) -> list[WebhookEndpoint]:
    return [endpoint for endpoint in enabled_endpoints() if event in (endpoint.events or [])]


def queue_for_endpoint(endpoint: WebhookEndpoint, event: str, body: bytes, now: datetime) -> None:
    outbox.enqueue(
        endpoint.kind, topic=event, target=endpoint.url, target_id=endpoint.id, body=body, now=now
    )


def fan_out(
    event: str,
    data: Callable[[], dict[str, Any]],
    slack_text: Callable[[], str],
    now: datetime,
    endpoints: list[WebhookEndpoint] | None = None,
) -> int:
    """Queue the event for every endpoint subscribed to it; how many messages."""
    if endpoints is None:
        endpoints = subscribed_endpoints(event)
    if not endpoints:
        return 0
    built: dict[str, bytes] = {}
    for endpoint in endpoints:
        if endpoint.kind not in built:
            built[endpoint.kind] = (
                slack.body(slack_text())
                if endpoint.kind == ENDPOINT_SLACK
                else webhook_body(event, data(), now)
            )
        queue_for_endpoint(endpoint, event, built[endpoint.kind], now)
    return len(endpoints)


def emit_scheduling_request_event(
    notification_type: str | None,
    scheduling_request: SchedulingRequest | str,
    *,
    now: datetime | None = None,
) -> int:
    """Queue the event of one applied notification (webhooks, Slack, the owner's email)
    inside the caller's write transaction; how many messages were queued.

    `scheduling_request`: the row (as it stands after the notification) or its
    scheduling_request_id, read here in the caller's transaction."""
    now = now or utcnow()
    event = event_for_notification(notification_type)
    endpoints = subscribed_endpoints(event)
    if not endpoints and not (event in BOOKING_EVENTS and booking_mail.enabled()):
        return 0  # the receiver's usual case costs one small query
    request = _request(scheduling_request)
    if request is None:
        return 0
    count = fan_out(
        event,
        lambda: scheduling_request_json(request),
        lambda: slack.scheduling_request_text(event, request),
        now,
        endpoints,
    )
    if event in BOOKING_EVENTS:
        count += booking_mail.queue_booking_email(event, request, now=now)
    return count


def _request(value: SchedulingRequest | str) -> SchedulingRequest | None:
    if isinstance(value, SchedulingRequest):
        return value
    return db.session.scalar(
        db.select(SchedulingRequest)
        .where(SchedulingRequest.scheduling_request_id == value)
        .execution_options(populate_existing=True)
    )


def tracked_link_data(link: TrackedLink, click_count: int) -> dict[str, Any]:
    return tracked_link_json(link, click_count, url=public_url("tracking.follow", slug=link.slug))


def emit_tracked_link_created(links: TrackedLink | Iterable[TrackedLink]) -> int:
    """Queue tracked_link.created for one link or many (a bulk import), inside the
    caller's write transaction (after the links are flushed, so they have ids)."""
    now = utcnow()
    items = [links] if isinstance(links, TrackedLink) else list(links)
    if not items or not subscribed_endpoints(LINK_CREATED):
        return 0
    return sum(
        fan_out(
            LINK_CREATED,
            lambda link=link: tracked_link_data(link, 0),
            lambda link=link: slack.tracked_link_text(LINK_CREATED, link),
            now,
        )
        for link in items
    )


def human_clicks(link_ids: list[int]) -> dict[int, int]:
    """Clicks (human visits) per tracked link, as the API counts them: the visits left
    plus the ones retention removed."""
    rows = db.session.execute(
        db.select(Visit.tracked_link_id, func.count())
        .where(Visit.tracked_link_id.in_(link_ids), Visit.agent_class == "human")
        .group_by(Visit.tracked_link_id)
    )
    counts = {link_id: count for link_id, count in rows}
    for link_id, purged in purged_visits(link_ids, humans_only=True).items():
        counts[link_id] = counts.get(link_id, 0) + purged
    return counts


def emit_tracked_link_clicks(clicks: Iterable[tuple[int, datetime]]) -> int:
    """Queue tracked_link.clicked for people's clicks, (tracked link id, time) each,
    inside the caller's write transaction (the one that writes the visits)."""
    clicks = list(clicks)
    if not clicks or not subscribed_endpoints(LINK_CLICKED):
        return 0
    ids = sorted({link_id for link_id, _ in clicks})
    links = {
        link.id: link
        for link in db.session.scalars(db.select(TrackedLink).where(TrackedLink.id.in_(ids)))
    }
    counts = human_clicks(ids)
    queued = 0
    for link_id, at in clicks:
        link = links.get(link_id)
        if link is None:
            continue
        queued += fan_out(
            LINK_CLICKED,
            lambda link=link: tracked_link_data(link, counts.get(link.id, 0)),
            lambda link=link: slack.tracked_link_text(LINK_CLICKED, link),
            at,
        )
    return queued


def queue_test_event(endpoint: WebhookEndpoint, now: datetime) -> None:
    """A `webhook.test` message for one endpoint, whatever it subscribes to."""
    data = {"endpoint_id": endpoint.id, "message": "A test event from the Public Links dashboard."}
    body = (
        slack.body("A test message from the Public Links dashboard: this channel is connected.")
        if endpoint.kind == ENDPOINT_SLACK
        else webhook_body(TEST_EVENT, data, now)
    )
    queue_for_endpoint(endpoint, TEST_EVENT, body, now)
