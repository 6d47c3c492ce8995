"""The silence alarm: people click tracked links, yet Cronofy has gone quiet.

The alarm is up when a person (not a bot or a link preview) clicked a tracked link after
the newest notification, and that click is at least ALERT_SILENCE_HOURS old: someone had
time to book, and nothing arrived. Its figures are the hours of silence (since the newest
notification, or since the first click when none ever arrived) and the person clicks
since the newest notification. Usual causes: the Embed webhook callback URL in Cronofy
does not point at this app's receiver, or CRONOFY_CLIENT_SECRET is not the application's
current client secret (the receiver then refuses every notification with 401).

An episode is one silence: it ends when a notification arrives. Each episode is written
to `silence_episodes` once (a unique key, so once across workers and servers) and the
episode hook runs in that same transaction, so that a message it queues in an outbox is
sent exactly when the episode is recorded.

Every function takes `now`, so that tests drive the clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.exc import IntegrityError

from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import ROLE_ADMIN, Delivery, SilenceEpisode, User, Visit
from webapp.tracking.agents import HUMAN

log = logging.getLogger(__name__)

HOOK_KEY = "webapp.alerts.on_silence_episode"


@dataclass(frozen=True)
class SilenceState:
    """What the banner and the episode hook say. `alarming` False: the other figures may
    be left at their defaults."""

    alarming: bool
    threshold_hours: int
    last_notification_at: datetime | None = None
    silent_since: datetime | None = None
    hours_silent: int = 0
    clicks: int = 0
    after_delivery_id: int = 0  # the newest delivery's id when the silence began (0: none)


EpisodeHook = Callable[[list[User], SilenceState], None]


def threshold_hours() -> int:
    return int(current_app.config["ALERT_SILENCE_HOURS"])


def newest_notification() -> tuple[int, datetime | None]:
    """(id, received_at) of the newest authentic delivery, or (0, None). One primary-key probe."""
    row = db.session.execute(
        select(Delivery.id, Delivery.received_at).order_by(Delivery.id.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else (0, None)


def last_notification_at() -> datetime | None:
    """When the newest Cronofy notification arrived, or None if none ever did."""
    return newest_notification()[1]


def _person_clicks_after(moment: datetime | None) -> ColumnElement[bool]:
    condition = Visit.agent_class == HUMAN
    return condition if moment is None else and_(condition, Visit.at > moment)


def evaluate(now: datetime, hours: int) -> SilenceState:
    """The alarm's state at `now` (reads only: two or three indexed queries)."""
    delivery_id, last_at = newest_notification()
    first_click = db.session.execute(
        select(Visit.at).where(_person_clicks_after(last_at)).order_by(Visit.at).limit(1)
    ).scalar_one_or_none()
    if first_click is None or now - first_click < timedelta(hours=hours):
        return SilenceState(False, hours, last_notification_at=last_at)
    clicks = db.session.execute(
        select(func.count()).select_from(Visit).where(_person_clicks_after(last_at))
    ).scalar_one()
    silent_since = last_at or first_click
    return SilenceState(
        alarming=True,
        threshold_hours=hours,
        last_notification_at=last_at,
        silent_since=silent_since,
        hours_silent=int((now - silent_since).total_seconds() // 3600),
        clicks=int(clicks),
        after_delivery_id=delivery_id,
    )


def check(now: datetime) -> tuple[SilenceState, bool]:
    """Evaluate, and record a new episode (running the hook) the first time it is seen.

    Returns the state and whether this call started the episode.
    """
    state = evaluate(now, threshold_hours())
    if not state.alarming or episode_recorded(state.after_delivery_id):
        return state, False
    try:
        with write_transaction():
            if episode_recorded(state.after_delivery_id):  # re-read under the write lock
                return state, False
            db.session.add(
                SilenceEpisode(
                    after_delivery_id=state.after_delivery_id,
                    silent_since=state.silent_since,
                    detected_at=now,
                    clicks=state.clicks,
                )
            )
            db.session.flush()
            episode_hook()(active_admins(), state)
    except IntegrityError:  # another worker or server recorded it first: it told them
        return state, False
    return state, True


def episode_recorded(after_delivery_id: int) -> bool:
    query = select(SilenceEpisode.id).where(SilenceEpisode.after_delivery_id == after_delivery_id)
    return db.session.execute(query).first() is not None


def active_admins() -> list[User]:
    query = select(User).where(User.role == ROLE_ADMIN, User.active.is_(True)).order_by(User.id)
    return list(db.session.execute(query).scalars())


def on_silence_episode(admins: list[User], figures: SilenceState) -> None:
    """The default hook: a warning in the log. The lead wires the mailer in its place."""
    log.warning(
        "silence alarm: no Cronofy notification for %d hours while people clicked tracked "
        "links %d times; %d admin(s) to tell. Check the Embed webhook callback URL and "
        "CRONOFY_CLIENT_SECRET.",
        figures.hours_silent,
        figures.clicks,
        len(admins),
    )


def episode_hook() -> EpisodeHook:
    hook = current_app.extensions.get(HOOK_KEY)
    return hook if callable(hook) else on_silence_episode


def set_episode_hook(app: Flask, hook: EpisodeHook) -> None:
    """Replace what runs once per episode, inside the transaction that records it (so an
    outbox message it adds commits with the episode). It gets the active admins and the
    figures; it must not commit."""
    app.extensions[HOOK_KEY] = hook
