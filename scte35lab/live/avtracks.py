"""The video and audio tracks of transcode mode's encoder: frames put on the output rate's
grid (dropped or repeated), scaled, and encoded with the IDRs asked for; audio resampled and
re-encoded as AAC on the input's timeline; both going on across an input loss (the loss
frames and silence) and a returning input (its timestamps moved on to follow)."""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

from scte35lab.live.slate import silence
from scte35lab.ts.pes import CLOCK, PTS_WRAP


class Unwrap:
    """PTS made monotonic across the 2^33 wrap (the encoder wants growing timestamps)."""

    def __init__(self) -> None:
        self.last: int | None = None
        self.wraps = 0

    def __call__(self, pts: int) -> int:
        u = pts + self.wraps * PTS_WRAP
        if self.last is not None and u < self.last - PTS_WRAP // 2:
            self.wraps += 1
            u += PTS_WRAP
        self.last = u
        return u


class VideoGrid:
    """Frames onto the output rate's grid (dropping or repeating), sized, and encoded with
    the IDRs asked for."""

    def __init__(
        self,
        tc: Any,
        stream: Any,
        out: Any,
        fps: float | None,
        size: tuple[int, int] | None,
    ) -> None:
        self.tc, self.stream, self.out = tc, stream, out
        self.fps = fps
        self.size = size
        from av.video.reformatter import VideoReformatter

        self.first: int | None = None  # unwrapped PTS of the first frame
        self._unwrap = Unwrap()
        self._scaler = VideoReformatter()  # keeps its scaler context from frame to frame
        self.next_slot = 0
        self.offset = 0  # added to an input's PTS: a returning input goes on from the last
        self._rebased = False
        self.last: Any = None  # the last picture encoded (scaled), for input loss
        self.last_upts: int | None = None
        rate = stream.codec_context.framerate
        self.rate = float(fps or (rate if rate else 25))
        self.size_out = (stream.width, stream.height)

    def push(self, frame: Any) -> None:

        if frame.pts is None:
            return
        tc = self.tc
        tc.frames_in += 1
        if tc.input_size is None:
            tc.input_size = (frame.width, frame.height)
        u = self._unwrap(int(frame.pts))
        idr = self._rebased
        if self._rebased:  # the first frame of a returning input: it goes on from the last
            self._rebased = False
            self.offset = self._next_upts() - u
        u += self.offset
        if self.first is None:
            self.first = u
            tc._media_start = u % PTS_WRAP
        w, h = self.size or (frame.width, frame.height)
        frame = self._scaler.reformat(frame, width=w, height=h, format="yuv420p", threads=2)
        if self.fps is None:
            slots = [u]
        else:
            slot = round((u - self.first) * self.fps / CLOCK)
            if slot < self.next_slot:
                tc.dropped += 1
                return
            slots = [
                self.first + round(n * CLOCK / self.fps) for n in range(self.next_slot, slot + 1)
            ]
            tc.duplicated += len(slots) - 1
            self.next_slot = slot + 1
        for upts in slots:
            self._slot(frame, upts, idr=idr)
            idr = False

    def _slot(self, frame: Any, upts: int, *, idr: bool = False) -> None:
        from av.video.frame import PictureType

        tc = self.tc
        frame.pts = upts
        frame.time_base = Fraction(1, CLOCK)
        pts = upts % PTS_WRAP
        forced = tc._take_target(pts)
        frame.pict_type = PictureType.I if forced or idr else PictureType.NONE
        if forced:
            tc.forced.append(pts)
        tc.last_pts = pts
        self.last, self.last_upts = frame, upts
        self._encode(frame)

    def _next_upts(self) -> int:
        """The unwrapped PTS of the next frame slot after the last one encoded."""
        if self.last_upts is None:
            return 0
        if self.fps is None:
            return self.last_upts + round(CLOCK / self.rate)
        assert self.first is not None
        return self.first + round(self.next_slot * CLOCK / self.fps)

    def push_loss(self, picture: Any) -> None:
        """One input-loss frame on the next slot (timestamps go on)."""
        upts = self._next_upts()
        if self.fps is not None:
            self.next_slot += 1
        self.tc.duplicated += 1
        self._slot(picture, upts)

    def rebase(self) -> None:
        """A new input comes: its first frame goes on from the last one, as an IDR."""
        self._unwrap = Unwrap()
        self._rebased = True

    def _encode(self, frame: Any) -> None:
        t0 = time.perf_counter()
        packets = self.stream.encode(frame)
        self.tc._encode_s += time.perf_counter() - t0
        for p in packets:
            self.out.mux(p)
            self.tc.frames_out += 1

    def finish(self) -> None:
        for p in self.stream.encode(None):
            self.out.mux(p)
            self.tc.frames_out += 1


class AudioTrack:
    """Audio resampled to the output rate and layout, re-encoded as AAC on the input's
    timeline (re-anchored where the input jumps)."""

    def __init__(self, stream: Any, out: Any, s: Any) -> None:
        import av

        self.stream, self.out = stream, out
        self.rate = s.audio_rate
        layout = "mono" if s.audio_channels == 1 else "stereo"
        self.resampler = av.AudioResampler(format="fltp", layout=layout, rate=s.audio_rate)
        self.fifo = av.AudioFifo()
        self.next_sample: int | None = None  # output sample index (unwrapped) of the fifo head
        self._unwrap = Unwrap()
        self.channels = s.audio_channels
        self._owed = 0.0  # silence samples not yet written (fractions of a frame period)

    def rebase(self) -> None:
        """A new input comes (its timestamps moved by the video's offset)."""
        self._unwrap = Unwrap()

    def push_silence(self, seconds: float, offset: int) -> None:
        """``seconds`` of silence after what is queued (input loss)."""
        if self.next_sample is None:
            return
        self._owed += seconds * self.rate
        n = int(self._owed)
        if n:
            self._owed -= n
            self.fifo.write(silence(n, self.rate, self.channels))
            self._drain()

    def push(self, frame: Any, offset: int = 0) -> None:
        if frame.pts is None:
            return
        u = self._unwrap(round(frame.pts * frame.time_base * CLOCK)) + offset
        start = u * self.rate // CLOCK
        queued = self.fifo.samples
        if self.next_sample is None or abs(start - (self.next_sample + queued)) > self.rate // 10:
            if queued:  # the input jumped: less than one AAC frame is left; let it go
                self.fifo.read(queued)
            self.next_sample = start
        for rf in self.resampler.resample(frame):
            rf.pts = None
            self.fifo.write(rf)
        self._drain()

    def _drain(self) -> None:
        size = self.stream.codec_context.frame_size or 1024
        while self.fifo.samples >= size:
            f = self.fifo.read(size)
            f.pts = self.next_sample
            f.time_base = Fraction(1, self.rate)
            assert self.next_sample is not None
            self.next_sample += f.samples
            for p in self.stream.encode(f):
                self.out.mux(p)

    def finish(self) -> None:
        for rf in self.resampler.resample(None):
            rf.pts = None
            self.fifo.write(rf)
        if self.next_sample is not None:
            self._drain()
        for p in self.stream.encode(None):
            self.out.mux(p)
