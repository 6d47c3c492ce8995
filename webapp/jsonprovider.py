"""Strict JSON in every response: never NaN or Infinity, which JSON does not have.

Python's json module writes them by default, and a client's parser then fails on the whole
answer. Untrusted values are cleaned where they are read (webapp/display.py, the receiver's
payload reading); this is the backstop: a non-finite number that still slipped through is a
server error to fix, not invalid JSON sent to a client.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider


class StrictJSONProvider(DefaultJSONProvider):
    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("allow_nan", False)
        return super().dumps(obj, **kwargs)


def init_app(app: Flask) -> None:
    app.json = StrictJSONProvider(app)
