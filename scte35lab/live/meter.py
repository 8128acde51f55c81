"""What the stream itself says, measured as it passes: bitrate, fps, keyframes, codecs.

:class:`StreamMeter` reads TS bytes in whatever pieces they come (a stage of its own that
changes nothing) through the shared :class:`~scte35lab.ts.demux.Demux`: from the PMT it
takes the video and audio streams, from each video access unit its PTS, whether it is a
keyframe and (H.264) the picture size from the SPS, and from each AAC PES the ADTS header:
sample rate and channels. ``second()`` gives the figures for the time since it was last
called, ready for the stats callbacks and stream_analytics.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from scte35lab.clock import PTS_HZ, PTS_WRAP
from scte35lab.ts import nal
from scte35lab.ts.demux import AccessUnit, Demux
from scte35lab.ts.pes import PesHeader
from scte35lab.ts.psi import AUDIO_STREAM_TYPES, STREAM_TYPES, VIDEO_STREAM_TYPES, Pmt

_AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)


class StreamMeter:
    """Measures a TS as it flows; ``feed`` never changes or holds back the bytes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._demux = Demux(self, sizes=False)  # sizes: not needed, and the live path pays
        self.video_pid: int | None = None
        self.audio_pid: int | None = None
        self.codec: str | None = None
        self.audio_codec: str | None = None
        self.width: int | None = None
        self.height: int | None = None
        self.audio_rate: int | None = None
        self.audio_channels: int | None = None
        self.first_video_pts: int | None = None
        self.last_video_pts: int | None = None
        self.last_keyframe_pts: int | None = None
        self.keyframe_interval_s: float | None = None
        self.frames = 0
        self.keyframes = 0
        self.bytes = 0
        self._win_bytes = 0
        self._win_frames = 0
        self._win_pts: list[int] = []
        self._win_start = time.monotonic()

    def feed(self, data: bytes) -> None:
        """Read ``data`` (any length; a partial packet is kept for the next call)."""
        with self._lock:
            self.bytes += len(data)
            self._win_bytes += len(data)
            self._demux.feed(data)

    # ------------------------------------------------------------ demux callbacks

    def on_pmt(self, program: int, pmt: Pmt) -> None:
        """Take the PMT's video and audio streams (the first of each)."""
        for es in pmt.streams:
            st = es.stream_type
            if st in VIDEO_STREAM_TYPES and self.video_pid != es.elementary_pid:
                self.video_pid = es.elementary_pid
                self.codec = STREAM_TYPES.get(st, hex(st))
            elif st in AUDIO_STREAM_TYPES and self.audio_pid != es.elementary_pid:
                self.audio_pid = es.elementary_pid
                self.audio_codec = STREAM_TYPES.get(st, hex(st))

    def on_pes(self, pid: int, header: PesHeader, data: bytes, offset: int) -> None:
        """An AAC PES start: sample rate and channels from its ADTS header."""
        if pid != self.audio_pid or self.audio_codec != "aac":
            return
        h = data
        if len(h) >= 7 and h[0] == 0xFF and h[1] & 0xF0 == 0xF0:
            idx = (h[2] >> 2) & 0x0F
            self.audio_rate = _AAC_RATES[idx] if idx < len(_AAC_RATES) else None
            self.audio_channels = ((h[2] & 1) << 2) | (h[3] >> 6)

    def on_access_unit(self, au: AccessUnit) -> None:
        """One video frame: counted, timed; a keyframe also gives the picture size."""
        if au.pid != self.video_pid:
            return
        self.frames += 1
        self._win_frames += 1
        pts = au.pts
        if pts is not None:
            if self.first_video_pts is None:
                self.first_video_pts = pts
            self.last_video_pts = pts
            self._win_pts.append(pts)
        if not au.keyframe:
            return
        self.keyframes += 1
        if pts is not None and self.last_keyframe_pts is not None:
            self.keyframe_interval_s = ((pts - self.last_keyframe_pts) % PTS_WRAP) / PTS_HZ
        self.last_keyframe_pts = pts
        if au.codec == nal.H264:
            size = nal.h264_access_unit_size(au.head)
            if size is not None:
                self.width, self.height = size

    def second(self) -> dict[str, Any]:
        """Figures for the window since the last call, then start a new window."""
        with self._lock:
            now = time.monotonic()
            span = max(now - self._win_start, 1e-3)
            pts = sorted(self._win_pts)
            fps = None
            if len(pts) >= 2:
                dur = ((pts[-1] - pts[0]) % PTS_WRAP) / PTS_HZ
                fps = (len(pts) - 1) / dur if dur > 0 else None
            out = {
                "bitrate_kbps": self._win_bytes * 8 / span / 1000,
                "fps": fps,
                "frames": self._win_frames,
                "width": self.width,
                "height": self.height,
                "video_codec": self.codec,
                "keyframe_interval_s": self.keyframe_interval_s,
                "audio_codec": self.audio_codec,
                "audio_rate": self.audio_rate,
                "audio_channels": self.audio_channels,
            }
            self._win_bytes = 0
            self._win_frames = 0
            self._win_pts = []
            self._win_start = now
            return out
