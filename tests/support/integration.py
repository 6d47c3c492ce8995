"""The end-to-end stage the integration tests share: gunicorn serving the app with the
sandbox on, a real SMTP server and a webhook target, an admin and a link owner with API
tokens, a sandbox Public Link; and the steps on it (add an endpoint, make a tracked link,
book through it as an invitee would)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from flask import Flask

from tests.support import factories
from tests.support.capture import CaptureServer
from tests.support.sandbox import hidden, slot_keys
from tests.support.server import Server, free_port, running_server, server_env
from tests.support.signin import BROWSER_UA
from tests.support.smtp import smtp_server
from webapp import create_app
from webapp.auth.api_tokens import issue_token
from webapp.extensions import db
from webapp.models import User


@dataclass
class Stage:
    base_url: str
    server: Server
    staff_app: Flask  # the same database, read and seeded from the test's process
    mailbox: Any
    receiver: CaptureServer
    code: str  # the sandbox Public Link's code
    public_link_id: int
    admin_id: int
    owner_id: int
    admin_token: str
    owner_token: str

    def api(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, timeout=10, headers={"Authorization": f"Bearer {token}"}
        )

    def add_endpoint(self) -> dict[str, Any]:
        """The admin adds the receiver as a webhook endpoint through the API."""
        with self.api(self.admin_token) as api:
            created = api.post(
                "/api/v1/webhook-endpoints", json={"url": self.receiver.url, "description": "ATS"}
            )
        assert created.status_code == 201, created.text
        return created.json()

    def new_link(self, label: str) -> dict[str, Any]:
        """The owner makes a tracked link to the sandbox Public Link through the API."""
        with self.api(self.owner_token) as api:
            body = {"public_link_id": self.public_link_id, "label": label}
            link = api.post("/api/v1/tracked-links", json=body)
        assert link.status_code == 201, link.text
        return link.json()

    def book(self, slug: str, name: str, email: str, **answers: str) -> httpx.Response:
        """An invitee follows the short link and books the first time offered."""
        with httpx.Client(base_url=self.base_url, headers={"User-Agent": BROWSER_UA}) as invitee:
            page = invitee.get(invitee.get(f"/l/{slug}").headers["Location"])
            confirm = invitee.post(
                f"/sandbox/pls/{self.code}",
                data={
                    "csrf_token": hidden(page.text, "csrf_token"),
                    "jti": hidden(page.text, "jti"),
                    "slot": slot_keys(page.text)[0],
                    "name": name,
                    "email": email,
                    **answers,
                },
            )
        assert confirm.status_code == 303, confirm.text[:500]
        return confirm


@contextmanager
def sandbox_stage(
    tmp_path: Path, *, hook_path: str = "/webhooks/cronofy", **staff_config: Any
) -> Iterator[Stage]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with smtp_server() as mailbox, CaptureServer(path=hook_path) as receiver:
        env = server_env(
            tmp_path,
            WEBAPP_SANDBOX="1",
            WEBHOOK_ALLOW_PRIVATE_TARGETS="1",
            MAIL_URL=mailbox.url,
            MAIL_FROM="Bookings <bookings@example.com>",
            PUBLIC_BASE_URL=base_url,
        )
        with running_server(tmp_path, env=env, port=port) as server:
            staff_app = create_app(
                {
                    "TESTING": True,
                    "INSTANCE_PATH": str(tmp_path / "staff-instance"),
                    "DATABASE_URL": server.database_url,
                    "SECRET_KEY": secrets.token_hex(16),
                    "PUBLIC_BASE_URL": base_url,
                    **staff_config,
                }
            )
            code = "stage-" + secrets.token_hex(3)
            with staff_app.app_context():
                admin = factories.make_user(email="admin@example.com", role="admin")
                owner = factories.make_user(email="owner@example.com", name="Olive Owner")
                public = factories.make_public_link(
                    owner_id=owner.id, name="Interviews", url=f"{base_url}/sandbox/pls/{code}"
                )
                admin_token = issue_token(db.session.get(User, admin.id), "integration")
                owner_token = issue_token(db.session.get(User, owner.id), "owner")
                ids = admin.id, owner.id, public.id
            try:
                yield Stage(
                    base_url=base_url,
                    server=server,
                    staff_app=staff_app,
                    mailbox=mailbox,
                    receiver=receiver,
                    code=code,
                    public_link_id=ids[2],
                    admin_id=ids[0],
                    owner_id=ids[1],
                    admin_token=admin_token,
                    owner_token=owner_token,
                )
            finally:
                with staff_app.app_context():
                    db.engine.dispose()
