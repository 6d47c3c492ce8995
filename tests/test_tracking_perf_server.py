"""Buffered visits under the real server: nothing lost on a graceful stop (worker_exit)."""

from __future__ import annotations

import secrets
import signal
from urllib.parse import parse_qsl, urlsplit

import httpx
import jwt
import pytest
from sqlalchemy import select

from tests.support import factories
from tests.support.server import running_server, server_env
from webapp import create_app
from webapp.extensions import db
from webapp.models import Visit

BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)


@pytest.mark.timeout(120)
def test_a_graceful_stop_writes_every_buffered_visit(tmp_path):
    env = server_env(tmp_path)
    # An interval no test outlives: only the stop itself can write these visits.
    (tmp_path / "server-instance" / "config.py").write_text("VISIT_FLUSH_INTERVAL = 600.0\n")
    with running_server(tmp_path, env=env, workers=2, threads=4) as server:
        staff_app = create_app(
            {
                "TESTING": True,
                "INSTANCE_PATH": str(tmp_path / "staff-instance"),
                "DATABASE_URL": server.database_url,
                "SECRET_KEY": secrets.token_hex(16),
                "WEBAPP_SANDBOX": False,
            }
        )
        with staff_app.app_context():
            public = factories.make_public_link()
            tracked = factories.make_tracked_link(public.id)
            slug, link_id = tracked.slug, tracked.id

        def stored() -> list[tuple[str, str, str | None]]:
            with staff_app.app_context():
                rows = db.session.execute(
                    select(Visit.agent_class, Visit.outcome, Visit.jti).where(
                        Visit.tracked_link_id == link_id
                    )
                ).all()
                db.session.remove()
                return [tuple(row) for row in rows]

        jtis = set()
        with httpx.Client(base_url=server.base_url, headers={"User-Agent": BROWSER}) as client:
            for _ in range(20):
                answer = client.get(f"/l/{slug}")
                assert answer.status_code == 302
                token = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))["claim_token"]
                jtis.add(jwt.decode(token, options={"verify_signature": False})["jti"])
            assert client.head(f"/l/{slug}").status_code == 200
        assert len(jtis) == 20
        assert stored() == []  # answered at once, written later

        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0

        rows = stored()
        with staff_app.app_context():
            db.engine.dispose()
    assert sorted(rows, key=str) == sorted(
        [("human", "redirect", jti) for jti in jtis] + [("head", "preview", None)], key=str
    )
    assert "could not record" not in server.log()
