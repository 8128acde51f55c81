"""Transcode mode's place in the chain: ingest TS -> :class:`Transcoder` (libx264 via PyAV,
an IDR forced at every splice point) -> its output thread feeds the TS stages.

One transcoder per ingest session. One that fails is restarted (taking over the IDRs still
due) up to ``MAX_RESTARTS`` times per session; after that the session's bytes are dropped,
said so, and nothing goes out untranscoded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from scte35lab.errors import ComponentError
from scte35lab.live.transcode import Transcoder, TranscodeSettings

MAX_RESTARTS = 3  # per ingest: a stream it cannot take is not retried for ever
DRAIN_S = 10.0  # how long the end of an ingest waits for the encoder's backlog


class TranscodeSlot:
    """The current session's transcoder, its restarts, and every IDR forced so far."""

    def __init__(
        self,
        settings: TranscodeSettings,
        on_ts: Callable[[bytes], None],
        *,
        name: str,
        on_event: Callable[..., None],
        due: Callable[[], Iterable[int]],
    ) -> None:
        self.settings = settings
        self._on_ts = on_ts
        self.name = name
        self._event = on_event
        self._due = due  # splice points still to come: a replacement forces IDRs there
        self._tc: Transcoder | None = None
        self._lock = threading.Lock()
        self._failures = 0
        self._forced_before: list[int] = []

    @property
    def current(self) -> Transcoder | None:
        return self._tc

    def open(self, *, restart: bool = False) -> None:
        """A transcoder for this ingest (a new one: its failure count starts again)."""
        if not restart:
            self._failures = 0
        tc = Transcoder(self.settings, self._on_ts, name=self.name)
        if restart:
            for pts in self._due():
                tc.force_idr(pts)
        with self._lock:
            self._tc = tc
        tc.start()

    @property
    def holding(self) -> bool:
        """The input was lost and the transcoder is encoding the loss frames."""
        tc = self._tc
        return tc is not None and tc.holding

    def hold(self) -> bool:
        """The ingest ended: keep the output going with the input-loss frames (see
        :mod:`scte35lab.live.slate`); ``False`` (and closed) when there is no working
        transcoder to do it."""
        tc = self._tc
        if tc is None or not tc.running or tc.error is not None or tc.last_pts is None:
            self.close()
            return False
        tc.hold()
        return True

    def resume(self) -> None:
        """A returning ingest goes on where the loss frames are, from an IDR."""
        assert self._tc is not None
        self._failures = 0
        self._tc.resume()

    @property
    def loss_phase(self) -> str | None:
        tc = self._tc
        return None if tc is None else tc.loss_phase

    def force_idr(self, pts: int) -> None:
        tc = self._tc
        if tc is not None:
            tc.force_idr(pts)

    @property
    def forced(self) -> list[int]:
        """The PTS of every frame an encoder made an IDR for a splice point."""
        tc = self._tc
        return self._forced_before + (list(tc.forced) if tc is not None else [])

    def close(self) -> None:
        with self._lock:  # the ingest thread and stop() may both get here
            tc, self._tc = self._tc, None
        if tc is None:
            return
        if not tc.close(DRAIN_S):
            self._event(
                "error",
                f"the transcoder did not finish its last {DRAIN_S:g} s of backlog: the rest "
                "of its output was dropped",
            )
        self._forced_before += tc.forced
        if tc.error is not None:
            self._event("error", f"transcoder stopped: {tc.error}")

    def feed(self, data: bytes) -> bool:
        """Encode ``data``; ``True`` when a failed transcoder was replaced (its output's
        counters and time base start again)."""
        tc = self._tc
        if tc is None:  # given up on this ingest: nothing goes out untranscoded
            return False
        try:
            tc.feed(data)
        except ComponentError as exc:
            if tc.error is None:
                self._event("error", f"{exc}; bytes dropped")
                return False
            self.close()
            self._failures += 1
            if self._failures >= MAX_RESTARTS:
                self._event(
                    "error",
                    f"{exc}; failed {self._failures} times on this ingest: its bytes are "
                    "dropped until the next one",
                )
                return False
            self.open(restart=True)
            self._event("transcoder_restarted", f"{exc}; transcoder restarted")
            return True
        return False

    def second(self) -> dict:
        """The encoder's own figures for the stats row (none without an encoder)."""
        tc = self._tc
        return {} if tc is None else tc.second()

    @property
    def last_pts(self) -> int | None:
        tc = self._tc
        return None if tc is None else tc.last_pts
