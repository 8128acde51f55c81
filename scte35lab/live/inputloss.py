"""What a live pipeline does while its input is away.

Passthrough: what the injector holds goes out at its own PCR pace (a burst would leave the
distributor with nothing after it), then null packets with a running PCR keep the SRT session
and the bit rate alive (:mod:`~scte35lab.live.filler`) until the returning input's own output
begins. Transcode: the encoder goes on with the last frame, black and the slate. Either way
waiting cues wait, and the publisher's leaving is told apart from its FFmpeg dying.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from scte35lab.live.cuedesk import CueDesk
from scte35lab.live.ingest import LiveIngest
from scte35lab.live.livechain import LiveChain
from scte35lab.live.outflow import OutFlow
from scte35lab.live.pacer import send_paced
from scte35lab.live.transcoding import TranscodeSlot

FILL_STEP_S = 0.02


class InputLoss:
    """One stream's input losses and returns (see the module docstring)."""

    def __init__(
        self,
        chain: LiveChain,
        flow: OutFlow,
        desk: CueDesk,
        ingest: LiveIngest,
        transcoder: TranscodeSlot | None,
        say: Callable[..., None],
    ) -> None:
        self.chain, self.flow, self.desk, self.ingest = chain, flow, desk, ingest
        self.transcoder = transcoder
        self.stream = chain.stream
        self._say = say
        self._stopping = chain.stopping  # the pipeline is stopping
        self._drain: threading.Thread | None = None
        self._back = threading.Event()  # a new ingest's output began: no more filler
        self._held_out = threading.Event()  # the last ingest's held output has gone out
        self._gate = threading.Lock()  # the filler's writes end before the input's begin
        self._died = False  # the last ingest's FFmpeg died while the publisher was on

    def _say_why(self) -> None:
        """Whether the publisher left or only the ingest FFmpeg died (nginx restarts it)."""
        if self.ingest.publisher_on():
            self._died = True
            self._say(
                "ingest_died",
                "the ingest FFmpeg exited while the publisher is still on: nginx restarts it",
            )
        else:
            self._say("ingest_ended", "ingest ended: waiting for the publisher")

    def session_began(self) -> bool:
        """A new ingest session begins; returns whether it resumes a transcoder that kept
        the stream going (the new input goes on where the loss frames are)."""
        tc = self.transcoder
        if tc is None or not tc.holding:
            if self._drain is not None:  # the last ingest's held output goes out first
                self._held_out.wait()
            return False
        tc.resume()
        if tc.last_pts is not None:
            self.desk.resume(tc.last_pts)
        return True

    def session_ended(self, lost: bool) -> bool:
        """The ingest session's reads ended (``lost``: not by a stop or the end of a URL
        input); returns whether the pipeline waits for the input to come back."""
        tc = self.transcoder
        if tc is not None and lost and tc.hold():
            self.desk.input_away_since = time.monotonic()
            self._say_why()
            self._say(
                "input_lost",
                f"input lost since {time.strftime('%H:%M:%S')}: encoding {tc.settings.loss}",
            )
            return True
        if tc is not None:
            tc.close()
        if lost:
            self._ended()
        return lost

    def _ended(self) -> None:
        """The ingest ended with no encoder to go on: in the background the held output goes
        out, then (passthrough) the filler's."""
        self.desk.input_away_since = time.monotonic()
        if self._drain is not None:  # the last loss's filler (its input never got going)
            self._back.set()
            self._drain.join()
        self._back.clear()
        self._held_out.clear()
        self._drain = threading.Thread(target=self._hold_on, name=f"{self.stream}-drain")
        self._drain.start()
        self._say_why()

    def _hold_on(self) -> None:
        """The drain thread: the injector's look-ahead at its PCR pace, then the filler."""
        fed = self.chain.flush(keep_waiting=True)
        if fed is not None:
            out, start, inj = fed
            filler = self.flow.filler
            idle = None if filler is None else (lambda secs: self._emit_raw(filler.nulls(secs)))
            took = send_paced(out, self.flow.emitter(start, inj), self._stopping, idle=idle)
            if out:
                msg = f"the held {len(out)} bytes went out at their own pace in {took:.1f} s"
                self._say("held_sent", msg)
        self._held_out.set()
        self._fill()

    def _fill(self) -> None:
        """Null packets and a running PCR until the input is back (passthrough)."""
        filler = self.flow.filler
        if filler is None or self._back.is_set() or self._stopping.is_set():
            return
        self._say(
            "input_lost",
            f"input lost since {time.strftime('%H:%M:%S')}: null packets and a running PCR "
            f"keep the SRT session up at {filler.rate * 8 / 1000:.0f} kbit/s",
        )
        filler.start()
        t = time.monotonic()
        while not (self._back.is_set() or self._stopping.is_set()):
            self._emit_raw(filler.fill(FILL_STEP_S))
            t += FILL_STEP_S
            self._stopping.wait(max(0.0, t - time.monotonic()))

    def _emit_raw(self, out: bytes) -> None:
        with self._gate:
            if not self._back.is_set():  # else the input's own output has begun
                self.flow.emit_raw(out, self.chain.pmt_pid)

    def output_began(self) -> None:
        """The input's own output is about to go out: the filler stops first."""
        if self._back.is_set():
            return
        with self._gate:
            self._back.set()
        if self._drain is not None:
            self._say("input_back", "the returning input's own output goes out again")

    def returned(self) -> None:
        """A new ingest began: say so when it replaces one whose FFmpeg died."""
        if self._died:
            self._died = False
            self._say("ingest_restarted", "the ingest FFmpeg was restarted")

    def join(self, timeout: float) -> None:
        """Wait for the drain thread (the pipeline is stopping)."""
        if self._drain is not None:
            self._drain.join(timeout)
