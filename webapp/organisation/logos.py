"""Which uploaded files are acceptable logos. Pure: no Flask, no database.

Only PNG, JPEG and SVG, recognised by their content (never by the name or the type the
browser claims), and at most MAX_LOGO_BYTES. An SVG is only ever shown as an image
(<img>), where browsers run none of its scripts; the app serves it with a CSP that forbids
them too, for anyone who opens its address directly.
"""

from __future__ import annotations

import re

MAX_LOGO_BYTES = 256 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
# An XML declaration, comments or a doctype may come before the <svg> root element.
SVG_START = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*"
    rb"(?:<!DOCTYPE[^>\[]*>\s*)?(?:<!--.*?-->\s*)*<svg[\s>]",
    re.DOTALL | re.IGNORECASE,
)
CONTENT_TYPES = ("image/png", "image/jpeg", "image/svg+xml")


class InvalidLogo(ValueError):
    """The file cannot be the logo; str(error) says why."""


def logo_content_type(data: bytes) -> str:
    """The file's image type, or InvalidLogo saying what is wrong with it."""
    if not data:
        raise InvalidLogo("The file is empty.")
    if len(data) > MAX_LOGO_BYTES:
        raise InvalidLogo(
            f"The logo is larger than {MAX_LOGO_BYTES // 1024} KB; upload a smaller image."
        )
    if data.startswith(PNG_SIGNATURE):
        return "image/png"
    if data.startswith(JPEG_SIGNATURE):
        return "image/jpeg"
    if SVG_START.match(data[:4096]):
        return "image/svg+xml"
    raise InvalidLogo("Upload a PNG, JPEG or SVG image.")


def file_extension(content_type: str) -> str:
    return {"image/png": "png", "image/jpeg": "jpg", "image/svg+xml": "svg"}[content_type]
