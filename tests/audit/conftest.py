"""The `ctx` fixture of the per-action audit tests (tests/audit/cases.py)."""

from __future__ import annotations

import pytest

from tests.audit.cases import ADMIN, STAFF, Ctx
from tests.audit.support import build_install
from tests.support.signin import sign_in


@pytest.fixture
def ctx(app) -> Ctx:
    install = build_install(app)
    return Ctx(
        install=install,
        admin=sign_in(app.test_client(), ADMIN),
        staff=sign_in(app.test_client(), STAFF),
        fresh=app.test_client,
        runner=app.test_cli_runner(),
    )
