"""QR codes of short URLs (segno), as SVG, PNG, and a ZIP of PNGs for a bulk upload. Pure.

Error correction "M" (15%): a printed code survives a smudge, and a short URL stays a
small symbol. Every code keeps the standard quiet zone of four modules.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator

import segno

DEFAULT_SCALE = 8  # pixels per module in a PNG: about 270 px square for a short URL
MIN_SCALE, MAX_SCALE = 1, 40
SVG_SCALE = 4
BORDER = 4
ERROR = "m"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def qr_svg(url: str, title: str | None = None) -> bytes:
    """A standalone SVG document of the URL's QR code."""
    buffer = io.BytesIO()
    segno.make(url, error=ERROR).save(
        buffer, kind="svg", scale=SVG_SCALE, border=BORDER, title=title, xmldecl=True
    )
    return buffer.getvalue()


def qr_png(url: str, scale: int = DEFAULT_SCALE) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error=ERROR).save(buffer, kind="png", scale=scale, border=BORDER)
    return buffer.getvalue()


def parse_scale(raw: str | None) -> int | None:
    """`?scale=`: pixels per module, MIN_SCALE..MAX_SCALE; DEFAULT_SCALE when absent;
    None when it is not such a number."""
    if raw is None or raw == "":
        return DEFAULT_SCALE
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 3:
        return None
    scale = int(text)
    return scale if MIN_SCALE <= scale <= MAX_SCALE else None


def file_stem(correlation_id: str) -> str:
    """A file name for a link's code: its correlation ID with anything odd replaced."""
    return _UNSAFE.sub("_", correlation_id).strip("._")[:100] or "link"


class _Chunks(io.RawIOBase):
    """A write-only, unseekable sink: zipfile then writes data descriptors, so the archive
    can be sent while it is being made."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[no-untyped-def, override]
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def png_zip(codes: Iterable[tuple[str, str]]) -> Iterator[bytes]:
    """A ZIP of one PNG per (correlation ID, short URL), streamed a file at a time. PNGs
    are compressed already, so they are stored as they are."""
    sink = _Chunks()
    seen: set[str] = set()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for correlation_id, url in codes:
            stem = file_stem(correlation_id)
            name, number = f"{stem}.png", 1
            while name in seen:
                number += 1
                name = f"{stem}-{number}.png"
            seen.add(name)
            archive.writestr(name, qr_png(url))
            yield sink.take()
    yield sink.take()
