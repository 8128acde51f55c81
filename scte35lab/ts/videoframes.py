"""The injector's video timeline: each frame's PTS, unwrapped, and whether it is an IDR.

:class:`FrameFinder` reads the video PID's packets in the rows the injector hands it: PES
headers give each frame's PTS (unwrapped across 2**33 from the first, which is stream time
zero); the first slice header (H.264, HEVC) says whether it is an IDR, read on over the
next packets of the PID when a picture's first packet does not hold it. Frames go into the
held output's ``frames``, next to the segments they start in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scte35lab.clock import pts_diff
from scte35lab.ts import nal
from scte35lab.ts.heldoutput import Frame, HeldOutput, Segment
from scte35lab.ts.packets import TS_PACKET_SIZE, packet_table
from scte35lab.ts.pes import parse_pes_header, pes_timestamps

log = logging.getLogger(__name__)

NAL_SCAN_PACKETS = 48  # packets of a picture read for its first slice header, at the most
H264_STREAM_TYPE, HEVC_STREAM_TYPE = 0x1B, 0x24


@dataclass
class _PendingPicture:
    frame: Frame
    data: bytearray
    packets: int


class FrameFinder:
    """Finds the video frames of the held segments (see the module doc).

    ``on_zero()`` is called once, when the first frame fixes stream time zero.
    """

    def __init__(self, hold: HeldOutput, on_zero: Callable[[], None]) -> None:
        self._hold = hold
        self._on_zero = on_zero
        self.codec: int | None = None  # the video's stream_type
        self.last_frame: Frame | None = None
        self.max_upts: int | None = None
        self.zero_pts: int | None = None
        self.zero_upts: int | None = None
        self._pending: _PendingPicture | None = None
        self._hevc = nal.HevcState()

    def set_codec(self, codec: int) -> None:
        """The video is now on a new PID of stream_type ``codec``: a picture being read on
        the old one is dropped."""
        self.codec = codec
        self._pending = None

    def reading(self) -> Segment | None:
        """The segment of a frame whose IDR flag is still being read (it must stay held)."""
        return self._pending.frame.seg if self._pending is not None else None

    def settle(self) -> None:
        """The end of the input: a picture still being read is judged on what came."""
        if self._pending is not None:
            self._settle(self._pending)

    def scan(self, seg: Segment, rows: np.ndarray, head: np.ndarray, vid: np.ndarray) -> None:
        """Read the video packets at rows ``vid`` (ascending) of ``seg``."""
        if self._pending is not None:
            self._continue(rows, head, vid)
        starts = vid[((head[vid] >> 22) & 1).astype(bool)]
        if not len(starts):
            return
        t = packet_table(rows[starts], head[starts])
        ok = t.payload_len > 0
        starts = starts[ok]
        if not len(starts):
            return
        pstart = t.payload_start[ok]
        ts = pes_timestamps(rows[starts], pstart)
        es = np.where(ts.valid, pstart.astype(np.int64) + ts.header_length, 999)
        codec = self.codec
        if codec == H264_STREAM_TYPE:
            batch = nal.h264_pictures(rows[starts, :TS_PACKET_SIZE], es)
        elif codec == HEVC_STREAM_TYPE:
            batch = nal.hevc_pictures(rows[starts, :TS_PACKET_SIZE], es, self._hevc)
        else:
            batch = None
        ra = t.random_access[ok]
        pts_list = ts.pts.tolist()
        pending_rows = []
        # a header that may go on in the next packet: valid but cut, or too short to tell
        cut = (ts.valid | (pstart > TS_PACKET_SIZE - 19)).tolist()
        for k, row in enumerate(starts.tolist()):
            pts = pts_list[k]
            if pts < 0 and cut[k]:
                self._cut_header(seg, rows, head, vid, row)  # header beyond this packet
                continue
            if pts < 0:
                continue
            if batch is None:
                key: bool | None = bool(ra[k])
            elif batch.done[k]:
                key = bool(batch.keyframe[k])
            else:
                key = None
            frame = self._new_frame(seg, row, pts, key)
            if key is None:
                pending_rows.append((frame, row, int(es[k])))
        for frame, row, e in pending_rows:
            self._read_picture(frame, rows, head, vid, row, e)

    def _new_frame(self, seg: Segment, row: int, pts: int, key: bool | None) -> Frame:
        last = self.last_frame
        upts = pts if last is None else last.upts + pts_diff(pts, last.pts)
        f = Frame(seg, row, pts, upts, key)
        self._hold.frames.append(f)
        self.last_frame = f
        seg.last_upts = upts
        if self.max_upts is None or upts > self.max_upts:
            self.max_upts = upts
        if self.zero_pts is None:
            self.zero_pts = pts
            self.zero_upts = upts
            log.debug("stream time zero: PTS %d", pts)
            self._on_zero()
        return f

    # ---------------------------------------------------------- keyframes beyond packet 1

    def _cut_header(self, seg, rows, head, vid, row) -> None:
        """A PES header that does not fit in its first packet (a long adaptation field):
        read it from the next packets of the PID in this range, as far as they go."""
        data = bytearray(_payload(rows, head, row))
        following = vid[vid > row]
        used = 0
        for r in following[:4].tolist():
            if (int(head[r]) >> 22) & 1:
                break
            data += _payload(rows, head, r)
            used += 1
        h = parse_pes_header(data)
        if h is None or h.pts is None:
            log.debug("video PES header at row %d could not be read: frame skipped", row)
            return
        sliced = self.codec in (H264_STREAM_TYPE, HEVC_STREAM_TYPE)
        frame = self._new_frame(seg, row, h.pts, None if sliced else False)
        if frame.key is None:
            self._pending = _PendingPicture(frame, bytearray(data[h.header_length :]), 1 + used)
            info = self._picture(self._pending.data)
            if info.complete:
                frame.key = info.keyframe
                self._pending = None
            else:
                self._continue(rows, head, following[used:])

    def _read_picture(self, frame, rows, head, vid, row, es) -> None:
        data = bytearray(rows[row, es:TS_PACKET_SIZE].tobytes()) if es < TS_PACKET_SIZE else b""
        self._pending = _PendingPicture(frame, bytearray(data), 1)
        self._continue(rows, head, vid[vid > row])

    def _continue(self, rows, head, vid) -> None:
        pend = self._pending
        if pend is None:
            return
        for r in vid.tolist():
            h = int(head[r])
            if (h >> 22) & 1 or pend.packets >= NAL_SCAN_PACKETS:
                self._settle(pend)
                return
            pend.data += _payload(rows, head, r)
            pend.packets += 1
            info = self._picture(pend.data)
            if info.complete:
                pend.frame.key = info.keyframe
                self._pending = None
                return

    def _picture(self, data: bytes | bytearray) -> nal.PictureInfo:
        if self.codec == HEVC_STREAM_TYPE:
            return nal.hevc_picture(data, self._hevc)
        return nal.h264_picture(data)

    def _settle(self, pend: _PendingPicture) -> None:
        pend.frame.key = self._picture(pend.data).keyframe
        self._pending = None


def _payload(rows: np.ndarray, head: np.ndarray, r: int) -> bytes:
    """The payload of the packet at row ``r`` (empty when it has none)."""
    h = int(head[r])
    afc = (h >> 4) & 3
    if not afc & 1:
        return b""
    start = 4 if afc == 1 else 5 + int(rows[r, 4])
    return rows[r, start:TS_PACKET_SIZE].tobytes() if start < TS_PACKET_SIZE else b""
