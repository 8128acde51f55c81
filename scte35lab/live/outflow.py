"""The stream's output on its way out: the injector's bytes (with its IDR offsets) and the
input-loss filler's go to the outputs, in order and counted; the ledger finds the cue copies
in the injector's, the output meter reads it, and the filler learns its bit rate and PCR.
The outputs are built here from the pipeline's settings: the SRT output stage, the RTMP
fallback, the records and the HLS preview (:mod:`~scte35lab.live.outputs`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from scte35lab.live.errors import SrtConnectionError
from scte35lab.live.fallback import RtmpFallback
from scte35lab.live.ffmpeg import FFmpegSrtSender
from scte35lab.live.filler import InputLossFiller
from scte35lab.live.ledger import CueLedger
from scte35lab.live.meter import StreamMeter
from scte35lab.live.outputs import Outputs
from scte35lab.live.settings import LiveSettings
from scte35lab.live.srtout import Outage, SrtOutput
from scte35lab.ts.inject import Injector


class OutFlow:
    """Hands output to ``outputs`` and counts it (``bytes_out``)."""

    def __init__(
        self,
        s: LiveSettings,
        ledger: CueLedger,
        stopping: threading.Event,
        *,
        say: Callable[..., None],
        on_outage: Callable[[Outage], None],
    ) -> None:
        self.ledger = ledger
        self._say = say
        self.srt = SrtOutput(
            lambda: s.sender_class(s.endpoint, name=f"srt-{s.stream}"),
            on_event=say,
            on_outage=on_outage,
            backoff_max=s.backoff_max,
            stopping=stopping,
            where=s.endpoint.display,
        )
        self.outputs = Outputs(
            self.srt,
            # a second destination over RTMP (audio and video: FLV has no SCTE-35)
            fallback=None
            if s.rtmp_fallback is None
            else RtmpFallback(
                s.rtmp_fallback,
                name=f"rtmp-fallback-{s.stream}",
                on_event=say,
                backoff_max=s.backoff_max,
            ),
            record=s.record,
            record_input=s.record_input,
            hls_preview=s.hls_preview,
            on_event=say,
        )
        # passthrough keeps the SRT session alive with null packets while the input is lost
        self.filler = InputLossFiller() if s.mode == "passthrough" else None
        self.meter = StreamMeter()
        self.bytes_out = 0
        self._lock = threading.Lock()

    def open(self, timeout: float) -> None:
        """Open the outputs and wait up to ``timeout`` s for the SRT peer. A peer that does
        not answer yet is retried with backoff; passphrase and URL errors raise (they need
        the user, not a retry)."""
        self.outputs.open()
        sender = self.srt.sender
        if sender is None or isinstance(sender, FFmpegSrtSender):
            return  # FFmpeg connects only once input flows; failures show in check()
        try:
            sender.wait_connected(timeout)
            self.srt.check()
        except SrtConnectionError as exc:
            self._say("srt_down", f"SRT peer not reachable yet, will retry: {exc}")

    def check(self) -> None:
        """Let the SRT output and the fallback notice a loss or a return."""
        self.srt.check()
        if self.outputs.fallback is not None:
            self.outputs.fallback.check()

    def settle(self, **kw: Any) -> None:
        """Settle each cue from what went out and what the SRT receiver acknowledged (see
        :meth:`CueLedger.settle`)."""
        self.ledger.settle(self.srt.delivery, self.meter.last_video_pts, **kw)

    def emit(self, out: bytes, inj_start: int, inj: Injector) -> None:
        """The injector's output ``out``, which starts at ``inj_start`` in all it let go."""
        if not out:
            return
        with self._lock:
            base = self.bytes_out
            end = inj_start + len(out)
            keys = [base + k - inj_start for k in inj.key_offsets if inj_start <= k < end]
            self.outputs.write(out, base, keys, inj.pmt_pid)
            if self.filler is not None:
                self.filler.observe(out, inj.pmt_pid)
            self.ledger.watch(out, base, inj.pid, self.srt.handed)
            self.bytes_out += len(out)
            self.meter.feed(out)

    def emitter(self, inj_start: int, inj: Injector) -> Callable[[bytes], None]:
        """``emit`` for the consecutive parts of one output that starts at ``inj_start``."""
        pos = [inj_start]

        def emit(part: bytes) -> None:
            self.emit(part, pos[0], inj)
            pos[0] += len(part)

        return emit

    def emit_raw(self, out: bytes, pmt_pid: int | None) -> None:
        """Output made here (the filler), not by the injector: no IDRs, no cues in it."""
        if not out:
            return
        with self._lock:
            self.outputs.write(out, self.bytes_out, [], pmt_pid)
            self.bytes_out += len(out)
