"""Property-based fuzzing of the sandbox's public pages: anyone on the internet reaches them.

A booking link with any query (claim token, correlation ID, UTM values), then the booking
form with any answers: the page books, refuses with a reason or shows field errors, and
the confirmation page that follows renders what was typed.
"""

from __future__ import annotations

import html
import re

from hypothesis import example, given
from hypothesis import strategies as st

from tests.security.strategies import HTML, fuzz, hostile_text
from webapp.models import utcnow
from webapp.tracking.tokens import mint_claim_token

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# A page opened with a claim token carries its jti; one opened without, a walk-in pass.
FIELD = re.compile(r'name="(jti|walk_in|slot)" value="([^"]+)"')

contexts = st.fixed_dictionaries(
    {}, optional={key: hostile_text for key in ("correlation_id", *UTM_KEYS)}
)
answers = st.fixed_dictionaries(
    {},
    optional={
        "name": hostile_text,
        "email": st.one_of(hostile_text, st.just("ada@example.com"), st.just("a\x00@x.example")),
        "phone_number": st.one_of(hostile_text, st.just("+44 20 7946 0000")),
        "notes": hostile_text,
        "slot": hostile_text,
    },
)


def mint(app) -> str:  # type: ignore[no-untyped-def]
    return mint_claim_token(
        embed_public_key=app.config["CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY"],
        embed_secret=app.config["CRONOFY_SCHEDULER_EMBED_SECRET"],
        now=utcnow(),
        lifetime_seconds=3600,
    ).token


@fuzz(150)
@given(context=contexts, typed=answers, token=st.one_of(st.none(), hostile_text))
@example(context={"correlation_id": "a\x00b"}, typed={}, token=None)
@example(
    context={"correlation_id": HTML},
    typed={"name": "Ada\x00", "email": "ada@example.com", "notes": "x\x00y"},
    token=None,
)
@example(
    context={},
    typed={"name": HTML, "email": "ada@example.com", "notes": HTML},
    token=None,
)
def test_sandbox_booking_answers_any_link_and_any_answers(sec_app, context, typed, token):
    client = sec_app.test_client()
    query = {"claim_token": mint(sec_app) if token is None else token, **context}
    page = client.get("/sandbox/pls/demo", query_string=query)
    assert page.status_code in (200, 400, 403), (query, page.status_code)
    if page.status_code != 200:
        return
    found = dict(FIELD.findall(page.get_data(as_text=True)))
    form = {**{key: html.unescape(value) for key, value in found.items()}, **typed}
    booked = client.post("/sandbox/pls/demo", data=form)
    assert booked.status_code in (303, 422), (form, booked.status_code)
    if booked.status_code == 303:
        confirmation = client.get(booked.headers["Location"])
        assert confirmation.status_code == 200
        assert "<script>alert(1)" not in confirmation.get_data(as_text=True)
