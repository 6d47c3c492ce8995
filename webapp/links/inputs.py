"""Turn submitted data (a form's strings, an API's JSON) into checked values. Pure.

The cleaners collect an error for every invalid field at once, so a person (or an API
client) fixes everything in one go. Types are checked too: a JSON `"name": 5` is an
invalid field, never a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from webapp.links.validation import (
    InvalidValue,
    parse_aware_datetime,
    validate_correlation_id,
    validate_label,
    validate_name,
    validate_public_link_url,
    validate_utm_value,
)
from webapp.models.links import UTM_KEYS
from webapp.security import MAX_DATABASE_ID

PUBLIC_LINK_FIELDS = ("name", "url", "active")
TRACKED_LINK_FIELDS = (
    "public_link_id",
    "correlation_id",
    "label",
    "utm",
    "expires_at",
    "disabled",
    "allow_repeat_bookings",
)


MAX_ID = MAX_DATABASE_ID  # the largest id an INTEGER key holds on every database


def parse_id(text: str | None) -> int | None:
    """A form or query-string id: a whole number a database key can hold, else None."""
    if text is None or not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


class InvalidInput(Exception):
    """One or more fields are invalid; `fields` maps each to the reason."""

    status = 422

    def __init__(
        self,
        fields: dict[str, str],
        message: str = "Some fields are invalid.",
        valid: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.fields = fields
        self.message = message
        self.valid = valid or {}  # the fields that did pass, for checks that build on them


def clean_public_link(
    data: Mapping[str, Any], *, partial: bool, sandbox_origin: str | None = None
) -> dict[str, Any]:
    """Checked `name`, `url`, `active` from data; all but `active` required unless partial."""
    errors = _unknown(data, PUBLIC_LINK_FIELDS)
    clean: dict[str, Any] = {}
    for key, rule in (
        ("name", validate_name),
        ("url", lambda value: validate_public_link_url(value, sandbox_origin=sandbox_origin)),
    ):
        if key in data:
            _apply(clean, errors, key, rule, data[key])
        elif not partial:
            errors[key] = "required"
    if "active" in data:
        _apply(clean, errors, "active", _boolean, data["active"])
    if errors:
        raise InvalidInput(errors)
    return clean


def clean_tracked_link(
    data: Mapping[str, Any],
    *,
    partial: bool,
    parse_expiry: Callable[[Any], datetime | None] = parse_aware_datetime,
) -> dict[str, Any]:
    """Checked tracked-link fields, UTM values flattened to `utm_source`... keys.

    On create (`partial=False`) `public_link_id` is required and a missing or blank
    `correlation_id` comes back as None (the service generates one). On update only the
    given keys come back; a given `utm` object changes only the keys it names.
    """
    errors = _unknown(data, TRACKED_LINK_FIELDS)
    clean: dict[str, Any] = {}
    if "public_link_id" in data:
        _apply(clean, errors, "public_link_id", _identifier, data["public_link_id"])
    elif not partial:
        errors["public_link_id"] = "choose a Public Link"
    if "correlation_id" in data:
        value = data["correlation_id"]
        if not partial and (value is None or (isinstance(value, str) and not value.strip())):
            clean["correlation_id"] = None
        else:
            _apply(clean, errors, "correlation_id", validate_correlation_id, value)
    elif not partial:
        clean["correlation_id"] = None
    if "label" in data:
        _apply(clean, errors, "label", validate_label, data["label"])
    if "utm" in data:
        _clean_utm(data["utm"], clean, errors)
    if "expires_at" in data:
        _apply(clean, errors, "expires_at", parse_expiry, data["expires_at"])
    for key in ("disabled", "allow_repeat_bookings"):
        if key in data:
            _apply(clean, errors, key, _boolean, data[key])
    if errors:
        raise InvalidInput(errors, valid=clean)
    return clean


def _clean_utm(value: Any, clean: dict[str, Any], errors: dict[str, str]) -> None:
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        errors["utm"] = f"must be an object with the keys {', '.join(UTM_KEYS)}"
        return
    for key in value:
        if key not in UTM_KEYS:
            errors[f"utm.{key}"] = f"unknown UTM key; allowed: {', '.join(UTM_KEYS)}"
    for key in UTM_KEYS:
        if key in value:
            _apply(clean, errors, key, validate_utm_value, value[key], error_key=f"utm.{key}")


def _apply(
    clean: dict[str, Any],
    errors: dict[str, str],
    key: str,
    rule: Callable[[Any], Any],
    value: Any,
    error_key: str | None = None,
) -> None:
    try:
        clean[key] = rule(value)
    except InvalidValue as error:
        errors[error_key or key] = str(error)


def _unknown(data: Mapping[str, Any], allowed: tuple[str, ...]) -> dict[str, str]:
    return {
        str(key): f"unknown field; allowed: {', '.join(allowed)}"
        for key in data
        if key not in allowed
    }


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidValue("must be true or false")
    return value


def _identifier(value: Any) -> int:
    if value is None:
        raise InvalidValue("choose a Public Link")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise InvalidValue("must be the id (a whole number) of a Public Link")
    return value
