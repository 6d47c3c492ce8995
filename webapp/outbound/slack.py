"""Slack incoming-webhook messages: the same events as one short human line.

Who booked, when in the owner's time zone, the correlation ID and a link to the request
page. Slack's mrkdwn needs &, < and > escaped in text that is not a link.
"""

from __future__ import annotations

import json

from webapp.absolute import local_time, public_url, user_zone
from webapp.extensions import db
from webapp.models import ENDPOINT_SLACK, SchedulingRequest, TrackedLink, User, WebhookEndpoint

VERBS = {
    "scheduling_request.time_chosen": "booked",
    "scheduling_request.rescheduled": "rescheduled",
    "scheduling_request.declined": "declined",
}


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def body(text: str) -> bytes:
    return json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")


def invitee(request: SchedulingRequest) -> str:
    for recipient in request.recipients or []:
        if isinstance(recipient, dict):
            name = str(recipient.get("display_name") or "").strip()
            email = str(recipient.get("email") or "").strip()
            if name or email:
                return f"{name} ({email})" if name and email else (name or email)
    return "Someone"


def scheduling_request_text(event: str, request: SchedulingRequest) -> str:
    owner = db.session.get(User, request.owner_id) if request.owner_id else None
    verb = VERBS.get(event, f"updated ({request.status})")
    parts = [f"*{escape(invitee(request))}* {verb}"]
    if request.summary:
        parts.append(f"“{escape(request.summary)}”")
    when = local_time(request.event_start, user_zone(owner))
    line = " ".join(parts) + (
        f" for {when}" if when and event != "scheduling_request.declined" else ""
    )
    details = []
    if request.correlation_id:
        details.append(f"correlation ID `{escape(request.correlation_id)}`")
    url = public_url("live.request_detail", scheduling_request_id=request.scheduling_request_id)
    details.append(f"<{url}|Open the request>")
    return line + " · " + " · ".join(details)


def tracked_link_text(event: str, link: TrackedLink) -> str:
    what = "created" if event == "tracked_link.created" else "clicked"
    label = f" ({escape(link.label)})" if link.label else ""
    url = public_url("links.tracked_link_detail", link_id=link.id)
    return f"Tracked link `{escape(link.correlation_id)}`{label} was {what} · <{url}|Open the link>"


def masked(url: str) -> str:
    """A Slack incoming-webhook URL holds its own credential: show its host and first
    path segment only."""
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    first = path.split("/", 1)[0]
    return f"{scheme}://{host}/{first}/…" if first else f"{scheme}://{host}/…"


def shown_url(endpoint: WebhookEndpoint) -> str:
    """The URL as pages, emails, the API and the audit log may show it."""
    return masked(endpoint.url) if endpoint.kind == ENDPOINT_SLACK else endpoint.url
