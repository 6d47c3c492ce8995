"""JSON may carry characters no text column stores; they are shown, never a failure."""

import json

from webapp.extensions import db
from webapp.models import SchedulingRequest
from webapp.webhooks.signatures import HEADER, sign


def test_lone_surrogates_and_nul_in_display_text_are_stored_as_replacement_characters(app, client):
    body = (
        b'{"notification": {"type": "scheduling_request_time_chosen", '
        b'"triggered_at": "2025-01-19T16:14:11Z"}, '
        b'"scheduling_request": {"scheduling_request_id": "srq_unicode", '
        b'"summary": "Interview \\ud800 at \\u0000 Globex", '
        b'"recipients": [{"email": "eb@example.com", "display_name": "Dr \\udfff Brown"}]}}'
    )
    json.loads(body)  # valid JSON, as Cronofy could send
    secret = app.config["CLIENT_SECRETS"][0]
    response = client.post(
        "/webhooks/cronofy",
        data=body,
        headers={HEADER: sign(body, secret), "Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code in (200, 202)
    with app.app_context():
        request = db.session.execute(
            db.select(SchedulingRequest).filter_by(scheduling_request_id="srq_unicode")
        ).scalar_one()
        assert request.summary == "Interview \ufffd at \ufffd Globex"


def test_a_lone_surrogate_in_an_identifier_is_a_payload_error():
    import pytest

    from webapp.webhooks.payload import PayloadError
    from webapp.webhooks.untrusted import identifier

    with pytest.raises(PayloadError, match="surrogate"):
        identifier({"id": "srq_\ud800"}, "id", "scheduling_request", 200)


def test_only_nul_and_lone_surrogates_are_unstorable_in_ascii_and_any_script():
    from webapp.webhooks.untrusted import printable, storable

    assert storable("srq_123 Interview at Globex") and storable("Zoë 面接 🎉")
    assert not storable("srq_\x00") and not storable("Zoë \x00")  # the ASCII path and the other
    assert not storable("a\ud800") and not storable("\udfff")
    assert printable("Zoë \x00 and \ud800") == "Zoë \ufffd and \ufffd"
    assert printable("plain ascii") == "plain ascii"
