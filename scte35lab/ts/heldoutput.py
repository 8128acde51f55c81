"""The injector's held output: the input as it came, waiting, with the edits cues need.

The injector holds its output for its look-ahead (see :mod:`scte35lab.ts.injector`). Each
``feed``'s packets are a :class:`Segment` (a zero-copy view of the input) and each video
frame that starts in it a :class:`Frame`; a cue or a rewritten PMT is recorded as an edit of
a held segment (insert before row r, or replace row r), applied when the segment is
released. Releasing copies only the rows around edits: the rest goes out as views.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from scte35lab.clock import PTS_HZ
from scte35lab.ts.packetize import SectionPacketizer
from scte35lab.ts.packets import TS_PACKET_SIZE

log = logging.getLogger(__name__)


class _Orig:
    """Edit content: the original packet."""


class _Recc:
    """Edit content: the original packet with the SCTE-35 PID's continuity_counter."""


ORIG, RECC = _Orig(), _Recc()


class Segment:
    """Packets from one ``feed`` (a zero-copy view) plus edits to apply on release.

    An edit's content is :data:`ORIG`, :data:`RECC`, ``("cue", section)`` (the section's
    packets on the SCTE-35 PID), bytes (packets as they are) or None (the row is dropped).
    """

    __slots__ = ("data", "edits", "last_upts", "nulls", "packets", "raw", "serial")

    def __init__(self, data: memoryview, serial: int, *, raw: bool = False) -> None:
        self.data = data
        self.serial = serial
        self.raw = raw
        self.packets = 0 if raw else len(data) // TS_PACKET_SIZE
        self.edits: dict[int, tuple[list[bytes], Any]] = {}
        self.nulls: list[int] = []
        self.last_upts: int | None = None

    def set_content(self, row: int, content: Any) -> None:
        """Row ``row`` goes out as ``content`` (see the class doc)."""
        before = self.edits.get(row, ([], ORIG))[0]
        self.edits[row] = (before, content)

    def insert_before(self, row: int, section: bytes) -> None:
        """The packets of cue ``section`` go out just before row ``row``."""
        before, content = self.edits.get(row, ([], ORIG))
        before.append(section)
        self.edits[row] = (before, content)


class Frame:
    """A video frame: the held segment and row its PES starts at, its PTS (33-bit and
    unwrapped) and whether it is an IDR (None: not known yet)."""

    __slots__ = ("key", "pts", "row", "seg", "upts")

    def __init__(self, seg: Segment, row: int, pts: int, upts: int, key: bool | None) -> None:
        self.seg = seg
        self.row = row
        self.pts = pts
        self.upts = upts
        self.key = key


class HeldOutput:
    """Held segments and the frames that start in them, released in order once the video
    has gone ``hold_ticks`` past them (or when more than ``max_hold_bytes`` are held).

    ``bytes_out`` counts what was released; ``key_offsets`` are the output byte offsets (in
    ``bytes_out`` terms) where an IDR access unit's first packet goes out: where a receiver
    joining the output can start decoding.
    """

    def __init__(self, hold_ticks: int, max_hold_bytes: int) -> None:
        self.hold_ticks = hold_ticks
        self.max_hold_bytes = max_hold_bytes
        self.segments: deque[Segment] = deque()
        self.frames: deque[Frame] = deque()
        self.held_bytes = 0
        self.released_upts: int | None = None  # last frame PTS already sent out
        self.bytes_out = 0
        self.key_offsets: deque[int] = deque(maxlen=64)
        self._serial = 0
        self._warned = False

    def segment(self, data: memoryview, *, raw: bool = False) -> Segment:
        """A new segment of ``data`` (``raw``: not TS, passed through as it is), not held
        yet (see :meth:`hold`)."""
        self._serial += 1
        return Segment(data, self._serial, raw=raw)

    def hold(self, seg: Segment) -> None:
        """Hold ``seg`` after the others."""
        self.segments.append(seg)
        self.held_bytes += len(seg.data)

    def first_segment(self) -> Segment:
        """The segment a gap before the first held frame begins in."""
        return self.segments[0]

    def segment_at(self, serial: int) -> Segment:
        """The held segment numbered ``serial``."""
        return self.segments[serial - self.segments[0].serial]

    def release(
        self,
        packer: SectionPacketizer | None,
        *,
        max_upts: int | None,
        zero_upts: int | None,
        keep: Segment | None = None,
        everything: bool = False,
    ) -> list[Any]:
        """The segments now ready, edits applied, as pieces (views and bytes) to write in
        order. ``max_upts``: the largest video PTS seen; ``keep``: a segment that must stay
        (its frame is still being read); ``packer``: the SCTE-35 PID's packetizer."""
        out: list[Any] = []
        segs = self.segments
        limit = None if max_upts is None else max_upts - self.hold_ticks
        while segs:
            seg = segs[0]
            if not everything:
                if seg is keep:
                    break
                # what came before the first frame (PSI, audio) goes with the first frame
                upts = seg.last_upts if seg.last_upts is not None else zero_upts
                ready = upts is not None and limit is not None and upts < limit
                if not ready and self.held_bytes <= self.max_hold_bytes:
                    break
                if not ready and not self._warned:
                    self._warned = True
                    log.warning(
                        "holding more than %d bytes without %g s of video: releasing early",
                        self.max_hold_bytes,
                        self.hold_ticks / PTS_HZ,
                    )
            segs.popleft()
            self.held_bytes -= len(seg.data)
            keys = []
            while self.frames and self.frames[0].seg is seg:
                f = self.frames.popleft()
                self.released_upts = f.upts
                if f.key:
                    keys.append(f.row)
            self._serialize(seg, out, keys, packer)
        for chunk in out:
            self.bytes_out += len(chunk)
        return out

    def _serialize(
        self, seg: Segment, out: list[Any], keys: list[int], packer: SectionPacketizer | None
    ) -> None:
        """Append ``seg``'s packets, edits applied, to ``out``; note where rows ``keys``
        (IDR frames' first packets) land in the output, in ``key_offsets``."""
        data = seg.data
        base = self.bytes_out + sum(len(c) for c in out) if keys else 0
        if not seg.edits:
            self.key_offsets.extend(base + r * TS_PACKET_SIZE for r in keys)
            out.append(data)
            return
        first = len(out)
        at: dict[int, tuple[int, int]] = {}  # key row -> (its chunk's index in out, offset in it)

        def copy_rows(a: int, b: int) -> None:
            for r in keys:
                if a <= r < b:
                    at[r] = (len(out), (r - a) * TS_PACKET_SIZE)
            out.append(data[a * TS_PACKET_SIZE : b * TS_PACKET_SIZE])

        pos = 0
        for r in sorted(seg.edits):
            before, content = seg.edits[r]
            if r > pos:
                copy_rows(pos, r)
            for section in before:
                out.extend(packer.packets(section))
            row = data[r * TS_PACKET_SIZE : (r + 1) * TS_PACKET_SIZE]
            if r in keys:
                at[r] = (len(out), 0)
            if content is ORIG:
                out.append(row)
            elif content is RECC:
                out.append(_recounted(row, packer))
            elif isinstance(content, tuple):
                out.extend(packer.packets(content[1]))
            elif content is not None:
                out.append(content)
            pos = r + 1
        if pos < seg.packets:
            copy_rows(pos, seg.packets)
        if at:
            offsets = [base]
            for c in out[first:]:
                offsets.append(offsets[-1] + len(c))
            for r in keys:
                if r in at:
                    i, within = at[r]
                    self.key_offsets.append(offsets[i - first] + within)


def _recounted(row: memoryview, packer: SectionPacketizer) -> bytes:
    """An input packet of the SCTE-35 PID with this stage's continuity_counter."""
    b = bytearray(row)
    if b[3] & 0x10:  # has payload: the counter counts it
        b[3] = (b[3] & 0xF0) | packer.cc
        packer.cc = (packer.cc + 1) & 0x0F
    else:
        b[3] = (b[3] & 0xF0) | ((packer.cc - 1) & 0x0F)
    return bytes(b)
