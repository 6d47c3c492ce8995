"""Reading a live stream (text/event-stream) the way a browser's EventSource does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class StreamEvent:
    name: str
    data: str


class EventReader:
    """Feed it the stream's lines; it hands back each event as its blank line ends it, and
    remembers the last `id:` (what a reconnect sends as Last-Event-ID)."""

    def __init__(self, last_event_id: str | None = None) -> None:
        self.last_event_id = last_event_id
        self._name = "message"
        self._data: list[str] = []

    def feed(self, line: str) -> StreamEvent | None:
        if line == "":
            event = StreamEvent(self._name, "\n".join(self._data)) if self._data else None
            self._name, self._data = "message", []
            return event
        if line.startswith(":"):
            return None  # a comment: the server's heartbeat
        key, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if key == "event":
            self._name = value
        elif key == "data":
            self._data.append(value)
        elif key == "id":
            self.last_event_id = value
        return None

    async def events(self, response: httpx.Response) -> AsyncIterator[StreamEvent]:
        async for line in response.aiter_lines():
            if (event := self.feed(line)) is not None:
                yield event
