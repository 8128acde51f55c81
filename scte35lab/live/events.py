"""What happened to a running pipeline, said once: kept in order, logged, told to each
listener, with the passphrase, the stream key and URL-borne secrets hidden."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scte35lab.redaction import redact

log = logging.getLogger(__name__)


@dataclass
class LiveEvent:
    """Something that happened to a running pipeline (start, stop, reconnect, cue, ...)."""

    t: float  # Unix seconds: when, for people and logs
    kind: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)
    mono: float = field(default_factory=time.monotonic)  # for intervals: never stepped


class EventLog:
    """A pipeline's events and their listeners; calling it says one event."""

    def __init__(self, stream: str, secrets: list[str]) -> None:
        self.stream = stream
        self.secrets = secrets
        self.events: list[LiveEvent] = []
        self.listeners: list[Callable[[LiveEvent], None]] = []

    def redact(self, text: str) -> str:
        """``text`` with this pipeline's secrets hidden."""
        return redact(text, self.secrets)

    def __call__(self, kind: str, message: str, *, level: int = logging.INFO, **data: Any) -> None:
        ev = LiveEvent(time.time(), kind, self.redact(message), data)
        self.events.append(ev)
        log.log(level, "pipeline %s: %s: %s", self.stream, kind, ev.message)
        for fn in self.listeners:
            try:
                fn(ev)
            except Exception:  # a listener's bug must not stop the stream
                log.exception("pipeline %s: event callback failed", self.stream)
