"""Removing one person's email and name from stored values: pure, no Flask, no database.

`Invitee` says whom: an email (matched without regard to case) and the names found beside
it. The scrubbers return a new value, or the same one when it does not mention them:
- in JSON (payloads, webhook bodies, captured answers), a recipient object with the email
  keeps its place (so counts stay) but its email becomes "" and its name ERASED_NAME; every
  other string has the email, names and answers replaced; captured answers
  ("captured_data.*" keys, a "captured_data" object) are dropped where asked, since they
  are the invitee's own;
- in an email (MIME), the text parts and the Subject are scrubbed and the message rebuilt;
- any other bytes are scrubbed as UTF-8 text.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

ERASED_NAME = "Erased invitee"
ERASED_EMAIL = "[erased]"
CAPTURED_PREFIX = "captured_data"
MIN_NAME_LENGTH = 2  # a one-letter "name" would erase every such letter standing alone
MIN_ANSWER_LENGTH = 4  # "yes" or "no" as an answer says nothing about anyone


@dataclass(frozen=True)
class Invitee:
    email: str
    names: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()  # their answers on a booking form, e.g. a phone number

    @classmethod
    def of(cls, email: str, names: Iterable[str] = (), answers: Iterable[str] = ()) -> Invitee:
        wanted = {" ".join(name.split()) for name in names if isinstance(name, str)}
        wanted |= {html.escape(name) for name in wanted}  # as an email's HTML part has it
        kept = sorted((n for n in wanted if len(n) >= MIN_NAME_LENGTH), key=len, reverse=True)
        said = {answer.strip() for answer in answers if isinstance(answer, str)}
        said |= {html.escape(answer) for answer in said}
        return cls(
            email.strip().lower(),
            tuple(kept),
            tuple(sorted((a for a in said if len(a) >= MIN_ANSWER_LENGTH), key=len, reverse=True)),
        )

    @property
    def pattern(self) -> re.Pattern[str]:
        # Longest first, so "Grace Hopper" goes before "Grace" would.
        names = [
            r"(?<!\w)" + r"\s+".join(re.escape(word) for word in name.split()) + r"(?!\w)"
            for name in self.names
        ]
        answers = [re.escape(answer) for answer in self.answers]
        parts = [re.escape(self.email), "|".join(names) or "(?!)", "|".join(answers) or "(?!)"]
        return re.compile("|".join(f"({part})" for part in parts), re.IGNORECASE)

    def has_email(self, value: object) -> bool:
        return isinstance(value, str) and value.strip().lower() == self.email


def mentions(text: str, invitee: Invitee) -> bool:
    return invitee.pattern.search(text) is not None


def scrub_text(text: str, invitee: Invitee) -> str:
    def replace(match: re.Match[str]) -> str:
        return ERASED_NAME if match.group(2) is not None else ERASED_EMAIL

    return invitee.pattern.sub(replace, text)


def scrub_json(value: Any, invitee: Invitee, *, drop_captured: bool = False) -> Any:
    """The JSON value with the invitee's email and names gone (see the module's notes)."""
    if isinstance(value, str):
        return scrub_text(value, invitee)
    if isinstance(value, list):
        return [scrub_json(item, invitee, drop_captured=drop_captured) for item in value]
    if not isinstance(value, dict):
        return value
    if invitee.has_email(value.get("email")):
        value = {**value, "email": ""}
        if "display_name" in value:
            value["display_name"] = ERASED_NAME
    result = {}
    for key, item in value.items():
        if drop_captured and str(key).startswith(CAPTURED_PREFIX + "."):
            continue  # a payload's captured answer, e.g. "captured_data.phone_number"
        if drop_captured and key == CAPTURED_PREFIX:
            result[key] = {}  # the JSON API's shape (webhook bodies): kept, emptied
            continue
        result[scrub_text(str(key), invitee)] = scrub_json(
            item, invitee, drop_captured=drop_captured
        )
    return result


def scrub_body(body: bytes, invitee: Invitee, *, drop_captured: bool = False) -> bytes:
    """A stored body (JSON, an email, or text) without the invitee; the same bytes when it
    did not mention them."""
    if not body:
        return body
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        parsed = None
    else:
        scrubbed = scrub_json(parsed, invitee, drop_captured=drop_captured)
        if scrubbed == parsed:
            return body
        return json.dumps(scrubbed, ensure_ascii=False, separators=(",", ":")).encode()
    if looks_like_email(body):
        return scrub_email(body, invitee)
    text = body.decode("utf-8", "surrogateescape")
    cleaned = scrub_text(text, invitee)
    return body if cleaned == text else cleaned.encode("utf-8", "surrogateescape")


def body_text(body: bytes) -> str:
    """What a body says, to search it: an email's decoded parts, else the text itself."""
    if looks_like_email(body):
        message = message_from_bytes(body, policy=SMTP)
        parts = [str(message.get("Subject", ""))]
        parts.extend(part.get_content() for part in _text_parts(message))
        return "\n".join(parts)
    try:
        return json.dumps(json.loads(body), ensure_ascii=False)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return body.decode("utf-8", "replace")


def looks_like_email(body: bytes) -> bool:
    head = body[:2000].lower()
    return b"mime-version:" in head and b"\ncontent-type:" in head


def scrub_email(body: bytes, invitee: Invitee) -> bytes:
    message = message_from_bytes(body, policy=SMTP)
    assert isinstance(message, EmailMessage)
    changed = False
    subject = message.get("Subject")
    if subject is not None and mentions(str(subject), invitee):
        message.replace_header("Subject", scrub_text(str(subject), invitee))
        changed = True
    for part in _text_parts(message):
        content = part.get_content()
        cleaned = scrub_text(content, invitee)
        if cleaned != content:
            part.set_content(cleaned, subtype=part.get_content_subtype())
            changed = True
    return message.as_bytes(policy=SMTP) if changed else body


def _text_parts(message: Any) -> list[Any]:
    return [part for part in message.walk() if part.get_content_maintype() == "text"]
