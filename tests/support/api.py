"""The JSON API's contract, checked on any answer (the error contract in
docs/architecture.md)."""

from __future__ import annotations

from typing import Any

ALLOWED = {200, 201, 400, 404, 409, 413, 415, 422}


def check_answer(response: Any, request: str) -> Any:
    """The contract every API answer keeps; the parsed body."""
    assert response.status_code in ALLOWED, (
        f"{request} -> {response.status_code}: {response.get_data(as_text=True)[:300]}"
    )
    assert response.mimetype == "application/json", f"{request} -> {response.mimetype}"
    body = response.get_json()
    assert isinstance(body, dict), f"{request} -> {body!r}"
    if response.status_code >= 400:
        assert set(body) == {"error"}, f"{request} -> {body}"
        error = body["error"]
        assert isinstance(error, dict), f"{request} -> {body}"
        assert isinstance(error.get("code"), str) and error["code"], f"{request} -> {body}"
        assert isinstance(error.get("message"), str) and error["message"], f"{request} -> {body}"
        if "fields" in error:
            fields = error["fields"]
            assert isinstance(fields, dict) and fields, f"{request} -> {body}"
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items()), (
                f"{request} -> {body}"
            )
    return body
