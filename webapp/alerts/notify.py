"""Telling the admins of a silence episode: one email each, through the outbox.

Runs as the silence alarm's episode hook (silence.set_episode_hook), inside the transaction
that records the episode, so each admin's email is queued exactly once per episode however
many workers or servers notice it. With email off it only logs.
"""

from __future__ import annotations

from webapp.absolute import public_url
from webapp.alerts import silence
from webapp.display import plural
from webapp.mail.compose import queue_email
from webapp.models import User, utcnow

TOPIC = "alert.silence"


def subject(figures: silence.SilenceState) -> str:
    """Short enough for one header line (a longer one is folded, and some readers show the
    fold as a leading space)."""
    clicks = plural(figures.clicks, "click")
    hours = plural(figures.hours_silent, "hour")
    if figures.last_notification_at is None:
        return f"No Cronofy notification yet; {clicks} in {hours}"
    return f"No Cronofy notification for {hours}; {clicks} since"


def email_admins(admins: list[User], figures: silence.SilenceState) -> None:
    """The episode hook: the log line, and one email per active admin (when email is on)."""
    silence.on_silence_episode(admins, figures)
    now = utcnow()
    context = {
        "figures": figures,
        "receiver_url": public_url("webhooks.receive"),
        "details_url": public_url("alerts.silence_details"),
        "event_log_url": public_url("webhooks.event_log"),
        "settings_url": public_url("webhooks.settings"),
    }
    for admin in admins:
        queue_email(
            admin.email,
            subject(figures),
            "silence_alarm",
            now,
            topic=TOPIC,
            user_id=admin.id,
            **context,
        )
