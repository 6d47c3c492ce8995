"""/alerts/silence (admins): the silence alarm's figures, what to check, and past episodes.

The banner on every staff page is one line; this page holds the rest.
"""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from webapp.alerts import bp, silence
from webapp.auth.access import admin_required
from webapp.extensions import db
from webapp.models import SilenceEpisode, utcnow
from webapp.urls import external_url
from webapp.webhooks import refusals

EPISODES_SHOWN = 10


@bp.get("/alerts/silence")
@admin_required
def silence_details():  # type: ignore[no-untyped-def]
    state = silence.evaluate(utcnow(), silence.threshold_hours())
    episodes = db.session.execute(
        select(SilenceEpisode).order_by(SilenceEpisode.id.desc()).limit(EPISODES_SHOWN)
    ).scalars()
    return render_template(
        "alerts/silence.html",
        state=state,
        episodes=list(episodes),
        receiver_url=external_url("webhooks.receive"),
        refused_count=refusals.refused_since(hours=24),
    )
