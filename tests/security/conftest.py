"""The security suite's populated install (tests/support/world.py), as fixtures."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.support.world import UNREACHABLE, World, build_world


@pytest.fixture
def sec_app(app_factory) -> Flask:
    return app_factory(
        WEBAPP_SANDBOX=True,
        SANDBOX_RECEIVER_URL=UNREACHABLE + "/never-called",
        PUBLIC_BASE_URL=UNREACHABLE,
        SSE_MAX_DURATION=0.3,
        SSE_HEARTBEAT=0.1,
    )


@pytest.fixture
def world(sec_app) -> World:
    return build_world(sec_app)
