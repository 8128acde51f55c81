"""A chain of TS stages, as TSDuck's ``tsp`` runs its packet processors.

A stage takes TS bytes and gives TS bytes: ``feed(data) -> bytes`` (what is ready to go on,
maybe nothing: a stage may hold bytes back) and ``flush() -> bytes`` (the end: everything it
still holds). It knows nothing of where the bytes come from (a file, a pipe from FFmpeg, a
socket, a test) nor where they go. The injector, the SDT namer and the seam marker are
stages; a :class:`Tap` makes a reader (a meter) a stage that passes everything on. The file
path (``inject()``) and the live pipeline run their stages through the same :class:`Chain`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol


class Stage(Protocol):
    """One processor of TS bytes (see the module docstring)."""

    def feed(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


class Tap:
    """A stage that only looks: ``fn(data)`` sees every byte, and all of it goes on."""

    def __init__(self, fn: Callable[[bytes], object]) -> None:
        self._fn = fn

    def feed(self, data: bytes) -> bytes:
        if data:
            self._fn(data)
        return data

    def flush(self) -> bytes:
        return b""


class Chain:
    """Stages run in order: each one's output is the next one's input."""

    def __init__(self, stages: Iterable[Stage | None]) -> None:
        self.stages: list[Stage] = [s for s in stages if s is not None]

    def feed(self, data: bytes) -> bytes:
        """Put ``data`` through every stage; what the last one lets go."""
        for stage in self.stages:
            data = stage.feed(data)
        return data

    def flush(self, last: Callable[[Stage], bytes] | None = None) -> bytes:
        """The end of the input: each stage in turn gets what the ones before it let go, then
        is flushed. ``last(stage)`` flushes the last stage instead of its ``flush()`` (e.g.
        an injector asked to keep its waiting cues)."""
        data = b""
        for i, stage in enumerate(self.stages):
            out = stage.feed(data) if data else b""
            end = last(stage) if last is not None and i == len(self.stages) - 1 else stage.flush()
            data = out + end
        return data
