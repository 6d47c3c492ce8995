"""Parsing what the invitee sends: the link's query and the booking form. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from webapp.emails import email_syntax_problem
from webapp.models.links import UTM_KEYS

CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_METADATA_LENGTH = 128  # Cronofy's limit for every metadata value
PHONE_PATTERN = re.compile(r"[0-9+()./ -]*")
MAX_NAME = 200
MAX_EMAIL = 254
MAX_PHONE = 64
MAX_NOTES = 2000


class InvalidMetadata(ValueError):
    """A correlation_id or utm_* value Cronofy would not accept; says which and why."""


class MetadataTooLong(InvalidMetadata):
    """A correlation_id or utm_* value is over Cronofy's 128-character limit."""


def has_control_characters(text: str, allowed: str = "") -> bool:
    """Control characters (NUL among them, which PostgreSQL cannot store) other than allowed."""
    return any(
        (ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0) and char not in allowed for char in text
    )


@dataclass(frozen=True)
class LinkContext:
    """What the tracked link put in the booking page's query string besides the token."""

    correlation_id: str | None = None
    utm: dict[str, str] = field(default_factory=dict)


def valid_code(code: str) -> bool:
    return CODE_PATTERN.fullmatch(code) is not None


def parse_link_context(args: Mapping[str, str]) -> LinkContext:
    values = {key: (args.get(key) or "").strip() for key in ("correlation_id", *UTM_KEYS)}
    for key, value in values.items():
        if len(value) > MAX_METADATA_LENGTH:
            raise MetadataTooLong(
                f"{key} is {len(value)} characters long; Cronofy accepts at most "
                f"{MAX_METADATA_LENGTH}."
            )
        if has_control_characters(value):
            raise InvalidMetadata(f"{key} contains control characters.")
    utm = {key: values[key] for key in UTM_KEYS if values[key]}
    return LinkContext(correlation_id=values["correlation_id"] or None, utm=utm)


@dataclass(frozen=True)
class Answers:
    """The invitee's answers; each field is the SandboxBooking column of the same name."""

    name: str
    email: str
    phone_number: str
    notes: str


def parse_answers(form: Mapping[str, str]) -> tuple[Answers, dict[str, str]]:
    """The invitee's answers, trimmed, and an error per field that is not acceptable."""
    answers = Answers(
        name=" ".join((form.get("name") or "").split()),
        email=(form.get("email") or "").strip(),
        phone_number=(form.get("phone_number") or "").strip(),
        notes=(form.get("notes") or "").strip().replace("\r\n", "\n"),
    )
    errors: dict[str, str] = {}
    if not answers.name:
        errors["name"] = "Enter your name."
    elif len(answers.name) > MAX_NAME:
        errors["name"] = f"Use at most {MAX_NAME} characters."
    elif has_control_characters(answers.name):
        errors["name"] = "Use letters, digits and punctuation only."
    if not answers.email:
        errors["email"] = "Enter your email address."
    elif len(answers.email) > MAX_EMAIL:
        errors["email"] = f"Use at most {MAX_EMAIL} characters."
    elif problem := email_syntax_problem(answers.email):
        errors["email"] = problem
    if len(answers.phone_number) > MAX_PHONE or not PHONE_PATTERN.fullmatch(answers.phone_number):
        errors["phone_number"] = "Use digits, spaces and + ( ) - . only, at most 64 characters."
    if len(answers.notes) > MAX_NOTES:
        errors["notes"] = f"Use at most {MAX_NOTES} characters."
    elif has_control_characters(answers.notes, allowed="\n\t"):
        errors["notes"] = "Remove the control characters from your notes."
    return answers, errors
