"""Where a live stream's TS goes once the injector let it go: the SRT output stage, an RTMP
fallback (FLV: audio and video only), a record of exactly what went out, a record of what
came in, and a local HLS preview window. A failing preview stops the preview, never the push.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from scte35lab.errors import Scte35Error
from scte35lab.live.fallback import RtmpFallback
from scte35lab.live.srtout import SrtOutput
from scte35lab.manifest.hls import HlsLive
from scte35lab.outfile import atomic_file

log = logging.getLogger(__name__)


class Outputs:
    """The fan-out after the injector (see the module docstring)."""

    def __init__(
        self,
        srt: SrtOutput,
        *,
        fallback: RtmpFallback | None,
        record: Path | None,
        record_input: Path | None,
        hls_preview: Path | None,
        on_event: Callable[..., None],
    ) -> None:
        self.srt = srt
        self.fallback = fallback
        self.record_path = record
        self.record_input_path = record_input
        self.hls_preview_dir = hls_preview
        self._event = on_event
        self._files = contextlib.ExitStack()  # the records: renamed into place at close
        self._rec: IO[bytes] | None = None
        self._rec_in: IO[bytes] | None = None
        self._hls: Any = None

    def open(self) -> None:
        if self.record_path is not None:
            self._rec = self._files.enter_context(atomic_file(self.record_path))
        if self.record_input_path is not None:
            self._rec_in = self._files.enter_context(atomic_file(self.record_input_path))
        if self.hls_preview_dir is not None:
            self._hls = HlsLive(self.hls_preview_dir)
        self.srt.start()
        if self.fallback is not None:
            self.fallback.start()

    def came_in(self, data: bytes) -> None:
        """The ingest's bytes, as they came (the input record)."""
        if self._rec_in is not None:
            self._rec_in.write(data)

    def write(self, out: bytes, base: int, keys: list[int], pmt_pid: int | None) -> None:
        """The injector's output ``out``, which starts at output offset ``base``; ``keys``
        are the output offsets of IDR frames."""
        if self._rec is not None:
            self._rec.write(out)
        if self._hls is not None:
            try:
                self._hls.feed(out)
            except (OSError, Scte35Error) as exc:
                self._hls = None
                self._event("error", f"HLS preview stopped: {exc}")
        self.srt.write(out, base, keys, pmt_pid)
        if self.fallback is not None:
            self.fallback.write(out)

    @property
    def record_bytes(self) -> int | None:
        rec = self._rec
        if rec is None:
            return None
        try:
            return rec.tell()
        except (OSError, ValueError):
            return None

    def pids(self) -> list[int]:
        """The processes the outputs started (a sender's, the fallback's FFmpeg)."""
        pids = []
        for owner in (self.srt.sender, None if self.fallback is None else self.fallback.push):
            proc = getattr(owner, "process", None)
            pid = getattr(proc, "pid", None)
            if pid is not None:
                pids.append(pid)
        return pids

    def close(self) -> None:
        """Stop the senders (libsrt waits for the last acknowledgements), then finish the
        records (they take their names now) and the preview's playlist."""
        self.srt.stop()
        if self.fallback is not None:
            self.fallback.stop()
        try:
            self._files.close()
        except OSError as exc:
            self._event("error", f"the record could not be finished: {exc}")
        if self._hls is not None:
            try:
                self._hls.close()
            except (OSError, Scte35Error) as exc:
                log.warning("HLS preview: could not finish the playlist: %s", exc)
