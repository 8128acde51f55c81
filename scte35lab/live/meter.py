"""What the stream itself says, measured as it passes: bitrate, fps, keyframes, codecs.

:class:`StreamMeter` reads TS bytes in whatever pieces they come (a stage of its own that
changes nothing), follows PAT and PMT, and for the video PID reads each access unit's first
bytes: its PTS, whether it is an IDR, and from the SPS the picture size. For AAC audio it
reads the ADTS header: sample rate and channels. ``second()`` gives the figures for the
time since it was last called, ready for the stats callbacks and stream_analytics.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scte35lab.ts import nal
from scte35lab.ts.pes import PTS_WRAP, parse_pes_header
from scte35lab.ts.psi import (
    AUDIO_STREAM_TYPES,
    PAT_PID,
    STREAM_TYPES,
    VIDEO_STREAM_TYPES,
    Pat,
    Pmt,
)
from scte35lab.ts.sections import SectionAssembler

_AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
_HEAD_BYTES = 4096  # of each access unit: enough for AUD, SPS, PPS, SEI and a slice header
_HEAD_PACKETS = _HEAD_BYTES // 184 + 2


def h264_sps_size(sps_rbsp: bytes) -> tuple[int, int] | None:
    """Picture width and height from an H.264 SPS (ITU-T H.264 7.3.2.1.1), cropping applied."""
    r = nal.BitReader(sps_rbsp)
    try:
        profile_idc = r.u(8)
        r.u(16)  # constraint flags, level_idc
        r.ue()  # seq_parameter_set_id
        chroma_format_idc = 1
        if profile_idc in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
            chroma_format_idc = r.ue()
            if chroma_format_idc == 3:
                r.u(1)
            r.ue()  # bit_depth_luma_minus8
            r.ue()  # bit_depth_chroma_minus8
            r.u(1)  # qpprime_y_zero_transform_bypass_flag
            if r.u(1):  # seq_scaling_matrix_present_flag
                for i in range(8 if chroma_format_idc != 3 else 12):
                    if r.u(1):
                        size = 16 if i < 6 else 64
                        last = nxt = 8
                        for _ in range(size):
                            if nxt:
                                delta = r.ue()
                                delta = (delta + 1) // 2 if delta % 2 else -(delta // 2)
                                nxt = (last + delta + 256) % 256
                            last = nxt or last
        r.ue()  # log2_max_frame_num_minus4
        poc_type = r.ue()
        if poc_type == 0:
            r.ue()
        elif poc_type == 1:
            r.u(1)
            r.ue()
            r.ue()
            for _ in range(r.ue()):
                r.ue()
        r.ue()  # max_num_ref_frames
        r.u(1)  # gaps_in_frame_num_value_allowed_flag
        width_mbs = r.ue() + 1
        height_units = r.ue() + 1
        frame_mbs_only = r.u(1)
        if not frame_mbs_only:
            r.u(1)
        r.u(1)  # direct_8x8_inference_flag
        width = width_mbs * 16
        height = height_units * 16 * (2 - frame_mbs_only)
        if r.u(1):  # frame_cropping_flag
            left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
            sub_w = 1 if chroma_format_idc == 3 else 2
            sub_h = 2 if chroma_format_idc == 1 else 1
            width -= (left + right) * (sub_w if chroma_format_idc else 1)
            height -= (top + bottom) * (sub_h if chroma_format_idc else 1) * (2 - frame_mbs_only)
        return width, height
    except EOFError:
        return None


@dataclass
class _Track:
    pid: int
    stream_type: int
    head: bytearray = field(default_factory=bytearray)
    pts: int | None = None
    open: bool = False


class StreamMeter:
    """Measures a TS as it flows; ``feed`` never changes or holds back the bytes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rest = b""
        self._pat = SectionAssembler()
        self._pmt_asm: dict[int, SectionAssembler] = {}
        self._pmt_pids: set[int] = set()
        self.video: _Track | None = None
        self.audio: _Track | None = None
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
        """Read ``data`` (any length; a partial packet is kept for the next call).

        Only the packets that matter are looked at one by one: PAT and PMT, the first
        packet of each audio PES and the first few of each video access unit; the rest is
        counted with numpy.
        """
        with self._lock:
            self.bytes += len(data)
            self._win_bytes += len(data)
            buf = self._rest + data if self._rest else data
            n = len(buf) - len(buf) % 188
            self._rest = buf[n:]
            if not n:
                return
            a = np.frombuffer(buf, dtype=np.uint8, count=n).reshape(-1, 188)
            pid = ((a[:, 1].astype(np.uint16) & 0x1F) << 8) | a[:, 2]
            pusi = (a[:, 1] & 0x40) != 0
            mv = memoryview(buf)
            start = 0
            while start < len(pid):
                state = self._state()
                for i in np.flatnonzero(self._wanted(pid[start:], pusi[start:])).tolist():
                    off = (start + i) * 188
                    if buf[off] == 0x47:
                        self._packet(mv[off : off + 188])
                    if self._state() != state:  # a PAT or PMT changed what to look at
                        start += i + 1
                        break
                else:
                    break

    def _state(self) -> tuple[Any, ...]:
        return (
            tuple(self._pmt_pids),
            None if self.video is None else self.video.pid,
            None if self.audio is None else self.audio.pid,
        )

    def _wanted(self, pid: np.ndarray, pusi: np.ndarray) -> np.ndarray:
        want = (pid == PAT_PID) | np.isin(pid, list(self._pmt_pids))
        for track in (self.video, self.audio):
            if track is None:
                continue
            mine = pid == track.pid
            want |= mine & pusi
            if track is self.video:
                # the packets after each access unit start, up to _HEAD_PACKETS of them
                idx = np.flatnonzero(mine)
                if len(idx):
                    ordinal = np.arange(len(idx))
                    last_start = np.maximum.accumulate(np.where(pusi[idx], ordinal, -1))
                    near = (last_start >= 0) & (ordinal - last_start < _HEAD_PACKETS)
                    if track.open and len(track.head) < _HEAD_BYTES:
                        near |= last_start < 0  # continuing an access unit from before
                    want[idx[near]] = True
        return want

    def _packet(self, pkt: memoryview) -> None:
        pid = ((pkt[1] & 0x1F) << 8) | pkt[2]
        pusi = bool(pkt[1] & 0x40)
        afc = (pkt[3] >> 4) & 3
        if not afc & 1:
            return
        start = 4 + (1 + pkt[4] if afc & 2 else 0)
        if start >= 188:
            return
        payload = pkt[start:]
        if pid == PAT_PID:
            for sec in self._pat.push(payload, pusi):
                try:
                    self._pmt_pids = set(Pat.parse(sec).pmt_pids.values())
                except Exception:
                    continue
            return
        if pid in self._pmt_pids:
            asm = self._pmt_asm.setdefault(pid, SectionAssembler())
            for sec in asm.push(payload, pusi):
                try:
                    self._take_pmt(Pmt.parse(sec))
                except Exception:
                    continue
            return
        for track in (self.video, self.audio):
            if track is not None and track.pid == pid:
                self._es(track, bytes(payload), pusi)

    def _take_pmt(self, pmt: Pmt) -> None:
        for es in pmt.streams:
            if es.stream_type in VIDEO_STREAM_TYPES and (
                self.video is None or self.video.pid != es.elementary_pid
            ):
                self.video = _Track(es.elementary_pid, es.stream_type)
                self.codec = STREAM_TYPES.get(es.stream_type, hex(es.stream_type))
            elif es.stream_type in AUDIO_STREAM_TYPES and (
                self.audio is None or self.audio.pid != es.elementary_pid
            ):
                self.audio = _Track(es.elementary_pid, es.stream_type)
                self.audio_codec = STREAM_TYPES.get(es.stream_type, hex(es.stream_type))

    def _es(self, track: _Track, payload: bytes, pusi: bool) -> None:
        if pusi:
            if track.open:
                self._access_unit(track)
            hdr = parse_pes_header(payload)
            if hdr is None:
                track.open = False
                return
            track.pts = hdr.pts
            track.head = bytearray(payload[hdr.header_length :])
            track.open = True
        elif track.open and len(track.head) < _HEAD_BYTES:
            track.head += payload

    def _access_unit(self, track: _Track) -> None:
        track.open = False
        if track is self.audio:
            h = track.head
            if self.audio_codec == "aac" and len(h) >= 7 and h[0] == 0xFF and h[1] & 0xF0 == 0xF0:
                idx = (h[2] >> 2) & 0x0F
                self.audio_rate = _AAC_RATES[idx] if idx < len(_AAC_RATES) else None
                self.audio_channels = ((h[2] & 1) << 2) | (h[3] >> 6)
            return
        self.frames += 1
        self._win_frames += 1
        pts = track.pts
        if pts is not None:
            if self.first_video_pts is None:
                self.first_video_pts = pts
            self.last_video_pts = pts
            self._win_pts.append(pts)
        if self.codec != "h264":
            return
        head = bytes(track.head)
        info = nal.h264_picture(head)
        if info.keyframe:
            self.keyframes += 1
            if pts is not None and self.last_keyframe_pts is not None:
                self.keyframe_interval_s = ((pts - self.last_keyframe_pts) % PTS_WRAP) / 90000
            self.last_keyframe_pts = pts
            for h, end in nal.nal_units(head):
                if head[h] & 0x1F == 7:
                    size = h264_sps_size(nal.unescape(head[h + 1 : end]))
                    if size is not None:
                        self.width, self.height = size
                    break

    def second(self) -> dict[str, Any]:
        """Figures for the window since the last call, then start a new window."""
        with self._lock:
            now = time.monotonic()
            span = max(now - self._win_start, 1e-3)
            pts = sorted(self._win_pts)
            fps = None
            if len(pts) >= 2:
                dur = ((pts[-1] - pts[0]) % PTS_WRAP) / 90000
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
