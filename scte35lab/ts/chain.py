"""A chain of TS stages, as TSDuck's ``tsp`` runs its packet processors.

A stage takes TS bytes and gives TS bytes: ``feed(data) -> bytes`` (what is ready to go on,
maybe nothing: a stage may hold bytes back) and ``flush() -> bytes`` (the end: everything it
still holds). It knows nothing of where the bytes come from (a file, a pipe from FFmpeg, a
socket, a test) nor where they go. The injector, the SDT namer and the seam marker are
stages, and so is the HLS packager (it writes segments and passes every byte on); a
:class:`Tap` makes a reader (a meter) a stage that passes everything on. The file paths
(``inject()``, ``condition()``, ``package_hls()``) and the live pipeline run their stages
through the same :class:`Chain`.

A stage may also offer ``feed_pieces(data)`` and ``flush_pieces()`` (:class:`PieceStage`):
the same output as a list of pieces (views of its input where nothing changed) that a
writer takes as they are (``writelines``), so a file path copies nothing it does not
change. :meth:`Chain.feed_pieces`, :meth:`Chain.flush_pieces` and :meth:`Chain.pump` hand
the last stage's pieces on; a stage before the last always gets bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

Piece = bytes | memoryview  # a run of output bytes, written in order with the others


class Stage(Protocol):
    """One processor of TS bytes (see the module docstring)."""

    def feed(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


class PieceStage(Stage, Protocol):
    """A stage that can also give its output as pieces, without joining them."""

    def feed_pieces(self, data: bytes) -> list[Piece]: ...

    def flush_pieces(self) -> list[Piece]: ...


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
        return b"".join(self.feed_pieces(data))

    def flush(self, last: Callable[[Stage], bytes] | None = None) -> bytes:
        """The end of the input: each stage in turn gets what the ones before it let go, then
        is flushed. ``last(stage)`` flushes the last stage instead of its ``flush()`` (e.g.
        an injector asked to keep its waiting cues)."""
        return b"".join(self.flush_pieces(None if last is None else lambda s: [last(s)]))

    def feed_pieces(self, data: bytes) -> list[Piece]:
        """As :meth:`feed`, but the last stage's output as pieces to write in order."""
        pieces: list[Piece] = [data]
        for stage in self.stages:
            pieces = _fed(stage, b"".join(pieces))
        return pieces

    def flush_pieces(self, last: Callable[[Stage], list[Piece]] | None = None) -> list[Piece]:
        """As :meth:`flush`, but the last stage's output as pieces; ``last(stage)`` gives
        the last stage's end as pieces."""
        pieces: list[Piece] = []
        end = len(self.stages) - 1
        for i, stage in enumerate(self.stages):
            data = b"".join(pieces)
            pieces = _fed(stage, data) if data else []
            pieces += last(stage) if last is not None and i == end else _flushed(stage)
        return pieces

    def pump(self, chunks: Iterable[bytes], write: Callable[[list[Piece]], object]) -> None:
        """Put every chunk through the chain, then its end; ``write`` (a file's
        ``writelines``) gets each batch of pieces the last stage lets go."""
        for chunk in chunks:
            write(self.feed_pieces(chunk))
        write(self.flush_pieces())


def _fed(stage: Stage, data: bytes) -> list[Piece]:
    """``stage``'s output for ``data`` as pieces."""
    feed_pieces = getattr(stage, "feed_pieces", None)
    return [stage.feed(data)] if feed_pieces is None else feed_pieces(data)


def _flushed(stage: Stage) -> list[Piece]:
    """``stage``'s end as pieces."""
    flush_pieces = getattr(stage, "flush_pieces", None)
    return [stage.flush()] if flush_pieces is None else flush_pieces()
