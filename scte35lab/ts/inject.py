"""The SCTE-35 injector: one streaming stage, TS bytes in, TS bytes out.

:class:`Injector` knows nothing of files, pipes or sockets: ``feed(data)`` returns the bytes
that may go out now, ``flush()`` the rest at the end. :func:`inject` runs it over a file.

What it does to the stream (ISO/IEC 13818-1, ANSI/SCTE 35 section 8):

- The program's PMT gains an elementary stream of stream_type 0x86 on the SCTE-35 PID (with
  a cue_identifier_descriptor, cue_stream_type 0x01 "all commands") and a ``CUEI``
  registration_descriptor in its program_info loop; its version_number is the input's + 1,
  then goes up by one only when the rewritten content changes (one version line, also
  across sessions with ``follows``), and its CRC_32 is recomputed. Every PMT packet is
  replaced where it stands, so the PMT keeps its repetition.
- Each cue is a section in packets of its own (pointer_field 0, 0xFF stuffing) on the SCTE-35
  PID, with this stage's own continuity_counter. A packet goes where a null packet was when
  the gap it must go into has one (the mux rate stays the same), else it is inserted there.
- Every other PID is untouched: the same packets, in the same order, with the same
  continuity_counters. An inserted packet (no null packet to take) delays what follows by
  one packet's time at the mux rate; a null packet up to 12 frames earlier is preferred, so
  a CBR stream keeps its size and PCR timing exactly.

Where a cue goes (DESIGN.md timing rules): its splice point is snapped to the first IDR at or
after the requested time (``snap_to_idr``; else the exact PTS is kept), its pts_time is
rewritten to that PTS minus pts_adjustment (components' too, CRC recomputed). Arrival is the
PTS of the last video frame before the cue's packet; the first copy goes in the latest gap
between two video frames whose arrival is at least ``preroll`` before the splice point, and
copies repeat every ``repeat_every`` seconds while their arrival is still before it.

Look-ahead design: to put a cue ``preroll`` seconds before an IDR, the IDR has to be seen
first. So the stage holds its output: the packets of each ``feed`` become a *segment*
(a zero-copy view of the input) with the video frames that start in it (PTS unwrapped across
2**33, keyframe from the first slice header). A segment is released only when the largest
video PTS seen since is more than ``preroll + margin`` seconds past its last frame. When an
IDR that a pending cue snaps to shows up, every gap back to ``preroll`` before it is still
held, and the cue's packets are recorded as edits (insert before row r, or take the place of
a null packet at row r) of the held segments; edits are applied, and the SCTE-35 PID's
continuity_counter assigned in output order, when a segment is released. The cost is
``preroll + margin`` seconds of latency on a live path, and that much memory.
"""

from __future__ import annotations

import contextlib
import logging
import os
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from scte35lab.clock import PTS_HZ, PTS_WRAP, pts_diff
from scte35lab.cue import Cue
from scte35lab.errors import CuesNotPlacedError, InputFormatError, StreamError
from scte35lab.inputkind import require_ts, source_name
from scte35lab.outfile import atomic_file
from scte35lab.ts import nal
from scte35lab.ts.packetize import SectionPacketizer
from scte35lab.ts.packets import (
    NULL_PID,
    SYNC_BYTE,
    TS_PACKET_SIZE,
    PacketAligner,
    packet_table,
)
from scte35lab.ts.pes import parse_pes_header, pes_timestamps
from scte35lab.ts.psi import (
    CUEI,
    PAT_PID,
    PMT_TABLE_ID,
    REGISTRATION_DESCRIPTOR_TAG,
    SCTE35_STREAM_TYPE,
    VIDEO_STREAM_TYPES,
    EsInfo,
    Pat,
    Pmt,
    PsiFollower,
    crc_ok,
    registration_descriptor,
    with_crc,
)
from scte35lab.ts.sections import PidSections, SectionAssembler

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

CUE_IDENTIFIER_TAG = 0x8A
CUE_STREAM_ALL_COMMANDS = 0x01
DEFAULT_PID = 500
EXISTING_MODES = ("add", "replace", "keep")
NULL_PACKET = bytes([SYNC_BYTE, 0x1F, 0xFF, 0x10]) + b"\xff" * 184
CHUNK = TS_PACKET_SIZE * 21_000  # ~3.9 MB per read in inject()
MAX_HOLD_BYTES = 512 << 20
NAL_SCAN_PACKETS = 48
NULL_SEARCH_FRAMES = 12  # gaps searched back for a null packet before inserting one
_H264, _HEVC = 0x1B, 0x24


# ----------------------------------------------------------------------------- requests


@dataclass
class CueRequest:
    """A cue to send and when it splices.

    ``at`` is seconds from stream time zero (the first video PTS); ``pts`` an absolute splice
    PTS (90 kHz, mod 2**33); with neither, the cue's own splice point is used. ``immediate``
    sends a splice_immediate cue once, as it is, when the video reaches ``at``.
    """

    cue: Cue
    at: float | None = None
    pts: int | None = None
    immediate: bool = False
    label: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.cue, Cue):
            self.cue = Cue.decode(self.cue)
        if self.pts is not None:
            self.pts = int(self.pts) % PTS_WRAP
        if self.at is None and self.pts is None and not self.immediate:
            point = self.cue.splice_point
            if point is None:
                raise InputFormatError(
                    f"{self.cue.command_name} cue has no splice time: give it a time "
                    "(seconds from stream start) or ask for immediate=True"
                )
            self.pts = point


@dataclass
class Placement:
    """What became of one :class:`CueRequest`.

    ``status``: ``pending`` (its IDR not seen yet), ``placed``, ``late`` (placed, but the
    stream did not reach back ``preroll`` before the splice point), ``missed`` (the stream
    ended before its splice point), ``cancelled`` (withdrawn before it was placed).
    ``reason`` says why a cue is ``late`` or ``missed`` in words. PTS are 33-bit;
    ``arrivals`` are the arrival PTS of each copy sent (None: before the first video frame).
    """

    request: CueRequest
    requested_pts: int | None = None
    splice_pts: int | None = None
    cue: Cue | None = None
    arrivals: list[int | None] = field(default_factory=list)
    preroll: float | None = None
    status: str = "pending"
    reason: str | None = None
    _target: int | None = None  # unwrapped requested PTS
    _done: bool = False

    def as_row(self, zero: int | None) -> dict[str, Any]:
        """One report row (seconds counted from stream time zero ``zero``)."""
        cue = self.cue or self.request.cue
        seg = cue.segmentation_descriptors

        def secs(pts: int | None) -> float | None:
            return None if pts is None or zero is None else pts_diff(pts, zero) / PTS_HZ

        first = self.arrivals[0] if self.arrivals else None
        return {
            "label": self.request.label,
            "command_name": cue.command_name,
            "splice_event_id": cue.splice_event_id,
            "segmentation_event_id": seg[0].segmentation_event_id if seg else None,
            "segmentation_type_id": seg[0].segmentation_type_id if seg else None,
            "requested_pts": self.requested_pts,
            "requested_time": secs(self.requested_pts),
            "splice_pts": self.splice_pts,
            "splice_time": secs(self.splice_pts),
            "first_arrival_time": secs(first),
            "preroll": self.preroll,
            "sends": len(self.arrivals),
            "status": self.status,
            "reason": self.reason,
            "base64": None if self.cue is None else self.cue.to_base64(),
        }


CueInput = Any  # Cue | CueRequest | (seconds, Cue) | PlannedCue | Schedule | bytes | str


def cue_requests(cues_or_schedule: CueInput | Iterable[CueInput]) -> list[CueRequest]:
    """Normalise what :func:`inject` accepts into :class:`CueRequest` objects.

    Accepted: a ``Schedule`` (its planned cues, timed in seconds from stream start), one or
    many ``Cue`` (spliced at their own splice point), ``CueRequest``, ``PlannedCue``,
    ``(seconds, cue)`` pairs, and cues as bytes, base64 or hex.
    """
    if hasattr(cues_or_schedule, "cues") and hasattr(cues_or_schedule, "breaks"):
        return [_request(p) for p in cues_or_schedule.cues()]
    if isinstance(cues_or_schedule, Cue | CueRequest | bytes | bytearray | str) or (
        isinstance(cues_or_schedule, tuple)
        and len(cues_or_schedule) == 2
        and isinstance(cues_or_schedule[0], int | float)
    ):
        return [_request(cues_or_schedule)]
    return [_request(c) for c in cues_or_schedule]


def _request(item: Any) -> CueRequest:
    if isinstance(item, CueRequest):
        return item
    if isinstance(item, Cue | bytes | bytearray | str):
        return CueRequest(item if isinstance(item, Cue) else Cue.decode(item))
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], int | float):
        return CueRequest(item[1], at=float(item[0]))
    if hasattr(item, "splice_time") and hasattr(item, "cue"):  # schedule.PlannedCue
        label = f"{getattr(item, 'cue_id', '')}/{getattr(item, 'role', '')}".strip("/")
        if getattr(item, "splice_pts", None) is not None:
            return CueRequest(item.cue, pts=item.splice_pts, label=label or None)
        return CueRequest(item.cue, at=float(item.splice_time), label=label or None)
    raise InputFormatError(
        f"cannot inject a {type(item).__name__}: give Cue, (seconds, Cue), CueRequest or Schedule"
    )


# ----------------------------------------------------------------------------- held output


class _Orig:
    """Edit content: the original packet."""


class _Recc:
    """Edit content: the original packet with the SCTE-35 PID's continuity_counter."""


ORIG, RECC = _Orig(), _Recc()


class _Segment:
    """Packets from one ``feed`` (a zero-copy view) plus edits to apply on release."""

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
        before = self.edits.get(row, ([], ORIG))[0]
        self.edits[row] = (before, content)

    def insert_before(self, row: int, section: bytes) -> None:
        before, content = self.edits.get(row, ([], ORIG))
        before.append(section)
        self.edits[row] = (before, content)


class _Frame:
    __slots__ = ("key", "pts", "row", "seg", "upts")

    def __init__(self, seg: _Segment, row: int, pts: int, upts: int, key: bool | None) -> None:
        self.seg = seg
        self.row = row
        self.pts = pts
        self.upts = upts
        self.key = key


@dataclass
class _PendingPicture:
    frame: _Frame
    data: bytearray
    packets: int


@dataclass
class _PmtCollect:
    seg_rows: list[tuple[_Segment, int]]
    assembler: SectionAssembler
    first_cc: int
    af: bytes | None


# ----------------------------------------------------------------------------- the stage


class Injector:
    """Streaming SCTE-35 injector: ``out = inj.feed(chunk)`` ... ``out = inj.flush()``.

    ``pid``: the SCTE-35 PID (default: the input's own SCTE-35 PID if it has one and
    ``existing`` is ``add``/``replace``, else 500 or the next PID not in use). ``existing``:
    what to do with SCTE-35 the input already carries: ``add`` (keep its cues, send ours on
    the same PID, whose continuity_counter this stage then owns), ``replace`` (its packets
    become null packets; ours take the PID), ``keep`` (left alone; ours on a PID of their
    own). ``program``: program_number to inject into (default: the first in the PAT).
    ``margin``: seconds held beyond ``preroll``.

    ``follows``: the injector whose output this one's continues (a live publisher's new
    ingest after a reconnect). This one then keeps the same SCTE-35 PID (unless ``pid`` is
    given), that PID's continuity_counter goes on from where the previous one left it, and
    the PMT's version_number goes on from the previous one's last PMT: it stays when the
    rewritten PMT is the same, and goes up by one (mod 32) when its content changed. The
    previous injector must be flushed before this one is fed (its output goes out first);
    its state is taken at the first ``feed``.

    PMT version: the rewritten PMT starts at the input's version_number + 1 and goes up by
    one only when its content (all but version_number and CRC_32) differs from the last one
    this stage sent, so one output never shows one version with two contents.

    Not thread-safe: a caller that adds cues from one thread while another feeds must
    serialise ``add``/``feed``/``flush`` (one lock).
    """

    def __init__(
        self,
        cues: CueInput | Iterable[CueInput] = (),
        *,
        pid: int | None = None,
        preroll: float = 4.0,
        repeat_every: float | None = 1.0,
        snap_to_idr: bool = True,
        existing: str = "add",
        program: int | None = None,
        margin: float = 1.0,
        max_hold_bytes: int = MAX_HOLD_BYTES,
        follows: Injector | None = None,
    ) -> None:
        if follows is not None and not isinstance(follows, Injector):
            raise StreamError(f"follows= takes an Injector, not a {type(follows).__name__}")
        if pid is not None and not 0x20 <= pid < NULL_PID:
            raise StreamError(f"SCTE-35 PID {pid} is not usable (0x0020..0x1FFE)")
        if existing not in EXISTING_MODES:
            raise StreamError(f"existing={existing!r}: one of {', '.join(EXISTING_MODES)}")
        if preroll < 0 or margin < 0:
            raise StreamError("preroll and margin are seconds >= 0")
        self.requested_pid = pid
        self.preroll = float(preroll)
        self.repeat_every = float(repeat_every) if repeat_every else None
        self.snap_to_idr = snap_to_idr
        self.existing = existing
        self.program = program
        self.max_hold_bytes = max_hold_bytes
        self._preroll_ticks = round(self.preroll * PTS_HZ)
        self._hold_ticks = round((self.preroll + margin) * PTS_HZ)
        self.placements: list[Placement] = []
        self._waiting: list[Placement] = []
        # stream state
        self.pid: int | None = None
        self.video_pid: int | None = None
        self.video_codec: int | None = None
        self.pmt_pid: int | None = None
        self.zero_pts: int | None = None
        self._zero_upts: int | None = None
        self._existing_pids: set[int] = set()
        self._seen_pids = np.zeros(8192, dtype=bool)
        self._chunk_pid = np.zeros(0, dtype=np.uint16)
        self._chunk_row = 0
        self._psi = PsiFollower()  # the PAT, followed as every stage follows it
        self._pat_sections = PidSections()
        self._pat_last: bytes | None = None
        self._pmt_cache: dict[bytes, bytes] = {}
        self._pmt_collect: _PmtCollect | None = None
        self._pmt_cc: int | None = None
        self._pmt_last: bytes | None = None
        self._pmt_last_section = b""
        self._pmt_version: int | None = None  # version_number of the last PMT sent
        self._pmt_content: bytes | None = None  # that PMT without version and CRC_32
        self._follows = follows
        self._cue_cc = 0  # the SCTE-35 PID's first continuity_counter
        self._cue_out: SectionPacketizer | None = None
        self._aligner = PacketAligner(strict=True, name="inject")
        self._segments: deque[_Segment] = deque()
        self._serial = 0
        self._held_bytes = 0
        self._frames: deque[_Frame] = deque()
        self._last_frame: _Frame | None = None
        self._max_upts: int | None = None
        self._released_upts: int | None = None  # last frame PTS already sent out
        self._pending_picture: _PendingPicture | None = None
        self._hevc = nal.HevcState()
        self._warned_hold = False
        self.bytes_in = 0
        self.bytes_out = 0
        # output byte offsets (in bytes_out terms) where an IDR access unit's first packet
        # goes out: where a receiver joining the output can start decoding
        self.key_offsets: deque[int] = deque(maxlen=64)
        self.packets_in = 0
        for c in cue_requests(cues):
            self.add(c)

    def __repr__(self) -> str:
        placed = sum(p.status in ("placed", "late") for p in self.placements)
        return (
            f"<Injector pid={self.pid} video_pid={self.video_pid} preroll={self.preroll:g}s "
            f"{placed}/{len(self.placements)} cues placed, {self._held_bytes} bytes held>"
        )

    # -------------------------------------------------------------------- public face

    def add(
        self,
        cue: CueInput,
        *,
        at: float | None = None,
        pts: int | None = None,
        immediate: bool = False,
        label: str | None = None,
    ) -> Placement:
        """Schedule one more cue (any time, also while streaming); returns its placement."""
        if isinstance(cue, CueRequest):
            req = cue
        elif at is None and pts is None and not immediate:
            req = _request(cue)
            req.label = label if label is not None else req.label
        else:
            req = CueRequest(
                cue if isinstance(cue, Cue) else Cue.decode(cue),
                at=at,
                pts=pts,
                immediate=immediate,
                label=label,
            )
        p = Placement(req, requested_pts=req.pts)
        self.placements.append(p)
        self._waiting.append(p)
        if self._zero_upts is not None:
            self._resolve_target(p)
            self._place()
        return p

    def cancel(self, placement: Placement) -> bool:
        """Withdraw a cue not placed yet (its status becomes ``cancelled``); ``False`` when
        it is already in the output (or was never this stage's)."""
        if placement not in self._waiting:
            return False
        self._waiting.remove(placement)
        placement.status = "cancelled"
        placement._done = True
        return True

    def feed(self, data: bytes | bytearray | memoryview) -> bytes:
        """Take TS bytes (any amount); return the bytes ready to go out (maybe none)."""
        return b"".join(self._feed(data))

    def flush(self, *, keep_waiting: bool = False) -> bytes:
        """End of stream: place what can be placed, return everything still held.

        Cues not placed are ``missed``, unless ``keep_waiting``: then they stay ``pending``
        (a live input that went away may come back before their splice points, and the
        caller decides what becomes of them).
        """
        return b"".join(self._flush(keep_waiting=keep_waiting))

    # ------------------------------------------------------------------- the pipeline

    def _feed(self, data: bytes | bytearray | memoryview) -> list[Any]:
        if self._follows is not None:
            self._take_over(self._follows)
        if not isinstance(data, bytes):
            data = bytes(data)
        self.bytes_in += len(data)
        for piece, rows, head in self._aligner.split(data):
            if rows is None:
                self._raw(piece)  # not TS: passed through unchanged
            else:
                self._process(piece, rows, head)
        self._place()
        return self._release()

    def _take_over(self, prev: Injector) -> None:
        """Continue ``prev``'s output: its SCTE-35 PID and counter, its PMT version line."""
        if prev._segments or prev._aligner.tail:
            raise StreamError(
                "the injector this one follows still holds output: flush it before feeding this one"
            )
        self._follows = None  # no chain of old sessions kept alive
        if self.requested_pid is None:
            self.requested_pid = prev.pid if prev.pid is not None else prev.requested_pid
        if prev._cue_out is not None and prev._cue_out.pid == self.requested_pid:
            self._cue_cc = prev._cue_out.cc
        self._pmt_version = prev._pmt_version
        self._pmt_content = prev._pmt_content

    def _flush(self, *, keep_waiting: bool = False) -> list[Any]:
        if self._follows is not None:
            self._take_over(self._follows)
        tail, self._aligner.tail = self._aligner.tail, b""
        if tail:
            log.warning("%d bytes at the end are not a whole packet: passed through", len(tail))
            self._raw(memoryview(tail))
        if self._pending_picture is not None:
            self._settle_picture(self._pending_picture)
            self._pending_picture = None
        self._place()
        for p in [] if keep_waiting else self._waiting:
            if not p._done:
                p.status = "missed"
                p.reason = self._missed_reason(p)
                p._done = True
                log.info("cue %s not sent: %s", _name(p.request), p.reason)
        if not keep_waiting:
            self._waiting = []
        return self._release(everything=True)

    def _missed_reason(self, p: Placement) -> str:
        """Why ``p`` was not placed by the end of the stream, with the times."""
        if self._zero_upts is None or self._max_upts is None:
            return "the stream has no video frame to splice at"
        end = (self._max_upts - self._zero_upts) / PTS_HZ
        if p._target is None:
            return f"the stream ended (last frame at {end:.3f} s) before its time was known"
        asked = (p._target - self._zero_upts) / PTS_HZ
        if p._target <= self._max_upts:
            return (
                f"no IDR at or after its splice point ({asked:.3f} s) before the stream "
                f"ended (last frame at {end:.3f} s)"
            )
        return (
            f"the stream ended before its splice point ({asked:.3f} s asked, "
            f"last frame at {end:.3f} s)"
        )

    def _raw(self, mv: memoryview) -> None:
        seg = _Segment(mv, self._next_serial(), raw=True)
        seg.last_upts = self._last_frame.upts if self._last_frame is not None else None
        self._append(seg)

    def _next_serial(self) -> int:
        self._serial += 1
        return self._serial

    def _append(self, seg: _Segment) -> None:
        self._segments.append(seg)
        self._held_bytes += len(seg.data)

    # ------------------------------------------------------------ per-chunk processing

    def _process(self, mv: memoryview, rows: np.ndarray, head: np.ndarray) -> None:
        seg = _Segment(mv, self._next_serial())
        n = len(rows)
        self.packets_in += n
        pid = ((head >> 8) & 0x1FFF).astype(np.uint16)
        self._chunk_pid = pid
        start = 0
        while start < n:
            psi = pid[start:] == PAT_PID
            if self.pmt_pid is not None:
                psi |= pid[start:] == self.pmt_pid
            idx = np.flatnonzero(psi) + start
            changed_at = None
            for i in idx.tolist():
                self._chunk_row = i
                if self._psi_packet(seg, rows, head, int(pid[i]), i):
                    changed_at = i + 1
                    break
            end = n if changed_at is None else changed_at
            self._scan_range(seg, rows, head, pid, start, end)
            start = end
        self._seen_pids[pid] = True
        if seg.last_upts is None and self._last_frame is not None:
            seg.last_upts = self._last_frame.upts
        self._append(seg)

    def _scan_range(self, seg, rows, head, pid, a: int, b: int) -> None:
        if a >= b:
            return
        p = pid[a:b]
        nulls = np.flatnonzero(p == NULL_PID)
        if len(nulls):
            seg.nulls.extend((nulls + a).tolist())
        if self.pid is not None:
            mine = np.flatnonzero(p == self.pid)
            if len(mine) and self.pid not in self._existing_pids:
                raise StreamError(
                    f"PID {self.pid} chosen for SCTE-35 is used by the input: give another pid"
                )
            if self.existing in ("add", "replace"):
                for xp in self._existing_pids:
                    if self.existing == "add" and xp != self.pid:
                        continue  # another SCTE-35 PID: not ours to touch
                    rows_x = np.flatnonzero(p == xp) + a
                    content = RECC if self.existing == "add" else NULL_PACKET
                    for r in rows_x.tolist():
                        seg.set_content(r, content)
        if self.video_pid is None:
            return
        vid = np.flatnonzero(p == self.video_pid) + a
        if not len(vid):
            return
        if self._pending_picture is not None:
            self._continue_picture(rows, head, vid)
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
        codec = self.video_codec
        if codec == _H264:
            batch = nal.h264_pictures(rows[starts, :TS_PACKET_SIZE], es)
        elif codec == _HEVC:
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

    def _new_frame(self, seg: _Segment, row: int, pts: int, key: bool | None) -> _Frame:
        last = self._last_frame
        upts = pts if last is None else last.upts + pts_diff(pts, last.pts)
        f = _Frame(seg, row, pts, upts, key)
        self._frames.append(f)
        self._last_frame = f
        seg.last_upts = upts
        if self._max_upts is None or upts > self._max_upts:
            self._max_upts = upts
        if self.zero_pts is None:
            self.zero_pts = pts
            self._zero_upts = upts
            log.debug("stream time zero: PTS %d", pts)
            for p in self._waiting:
                self._resolve_target(p)
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
        frame = self._new_frame(
            seg, row, h.pts, None if self.video_codec in (_H264, _HEVC) else False
        )
        if frame.key is None:
            self._pending_picture = _PendingPicture(
                frame, bytearray(data[h.header_length :]), 1 + used
            )
            info = self._picture(self._pending_picture.data)
            if info.complete:
                frame.key = info.keyframe
                self._pending_picture = None
            else:
                self._continue_picture(rows, head, following[used:])

    def _read_picture(self, frame, rows, head, vid, row, es) -> None:
        data = bytearray(rows[row, es:TS_PACKET_SIZE].tobytes()) if es < TS_PACKET_SIZE else b""
        pend = _PendingPicture(frame, bytearray(data), 1)
        following = vid[vid > row]
        self._pending_picture = pend
        self._continue_picture(rows, head, following)

    def _continue_picture(self, rows, head, vid) -> None:
        pend = self._pending_picture
        if pend is None:
            return
        for r in vid.tolist():
            h = int(head[r])
            if (h >> 22) & 1 or pend.packets >= NAL_SCAN_PACKETS:
                self._settle_picture(pend)
                return
            afc = (h >> 4) & 3
            if afc & 1:
                start = 4 if afc == 1 else 5 + int(rows[r, 4])
                if start < TS_PACKET_SIZE:
                    pend.data += rows[r, start:TS_PACKET_SIZE].tobytes()
            pend.packets += 1
            info = self._picture(pend.data)
            if info.complete:
                pend.frame.key = info.keyframe
                self._pending_picture = None
                return

    def _picture(self, data: bytes | bytearray) -> nal.PictureInfo:
        if self.video_codec == _HEVC:
            return nal.hevc_picture(data, self._hevc)
        return nal.h264_picture(data)

    def _settle_picture(self, pend: _PendingPicture) -> None:
        pend.frame.key = self._picture(pend.data).keyframe
        self._pending_picture = None

    # ----------------------------------------------------------------------- PSI

    def _psi_packet(self, seg: _Segment, rows, head, pid: int, i: int) -> bool:
        """Handle a PAT or PMT packet; True when what follows must be read differently."""
        h = int(head[i])
        afc = (h >> 4) & 3
        if not afc & 1:
            return False
        start = 4 if afc == 1 else 5 + int(rows[i, 4])
        payload = rows[i, start:TS_PACKET_SIZE].tobytes()
        pusi = bool((h >> 22) & 1)
        if pid == PAT_PID:
            if pusi and payload == self._pat_last:
                return False
            changed = False
            for section in self._pat_sections.push(PAT_PID, payload, pusi):
                pat = self._psi.section(PAT_PID, section)
                if isinstance(pat, Pat):
                    changed |= self._pat(pat)
            if pusi:
                self._pat_last = payload
            return changed
        af = rows[i, 5:start].tobytes() if afc == 3 and start > 5 else None
        return self._pmt_packet(seg, i, payload, pusi, h & 0x0F, af)

    def _pat(self, pat: Pat) -> bool:
        programs = pat.pmt_pids
        if not programs:
            return False
        number = self.program if self.program is not None else min(programs)
        if number not in programs:
            raise StreamError(f"program {number} is not in the PAT (has {sorted(programs)})")
        pmt_pid = programs[number]
        if pmt_pid != self.pmt_pid:
            log.debug("program %d: PMT on PID %d", number, pmt_pid)
            self.pmt_pid = pmt_pid
            self.program = number
            self._pmt_cc = None  # a new PID: its own continuity
            self._pmt_last = None
            self._pmt_collect = None
            return True
        return False

    def _pmt_packet(
        self, seg: _Segment, i: int, payload: bytes, pusi: bool, cc: int, af: bytes | None
    ) -> bool:
        """Replace the PMT packets of our program with the rewritten PMT, where they stand."""
        if pusi:
            if self._pmt_collect is not None:
                log.debug("PMT section cut short: its packets pass unchanged")
            self._pmt_collect = None
            if payload and payload[0] == 0 and payload == self._pmt_last:
                new = self._pmt_cache[self._pmt_last_section]  # same PMT, same packet
                self._pmt_emit([(seg, i)], new, cc, af)
                return False
            if not payload or payload[0] != 0:
                return False  # a section ending here first: leave these packets as they are
            self._pmt_collect = _PmtCollect([], SectionAssembler(), cc, af)
        if self._pmt_collect is None:
            return False
        col = self._pmt_collect
        col.seg_rows.append((seg, i))
        sections = col.assembler.push(payload, pusi)
        if not sections:
            if len(col.seg_rows) > 8:
                self._pmt_collect = None
            return False
        self._pmt_collect = None
        section = sections[0]
        if section[0] != PMT_TABLE_ID or not crc_ok(section):
            return False
        changed = False
        new = self._pmt_cache.get(section)
        if new is None:
            number = (section[3] << 8) | section[4]
            if number == self.program:
                new, changed = self._rewrite_pmt(section)
            else:
                new = section  # another program's PMT on the same PID: as it was
            self._pmt_cache[section] = new
        if len(col.seg_rows) == 1:
            self._pmt_last = payload
            self._pmt_last_section = section
        else:
            self._pmt_last = None
        self._pmt_emit(col.seg_rows, new, col.first_cc, col.af)
        return changed

    def _pmt_emit(
        self, seg_rows: list[tuple[_Segment, int]], section: bytes, cc: int, af: bytes | None
    ) -> None:
        """The section's packets in place of the original's, with this stage's counter
        (starting where the input's was). An adaptation field the original first packet
        carried (a PCR on the PMT PID) goes out first, in an adaptation-only packet."""
        if self._pmt_cc is None:
            self._pmt_cc = cc
        packer = SectionPacketizer(self.pmt_pid, self._pmt_cc)
        packets = packer.packets(section)
        if af and af[0]:  # flags set (a PCR, a discontinuity), not mere stuffing
            head = bytes(
                [
                    SYNC_BYTE,
                    self.pmt_pid >> 8,
                    self.pmt_pid & 0xFF,
                    0x20 | (self._pmt_cc - 1) & 0x0F,
                ]
            )
            packets.insert(0, head + bytes([183]) + af + b"\xff" * (183 - len(af)))
        self._pmt_cc = packer.cc
        first_seg, first_row = seg_rows[0]
        first_seg.set_content(first_row, b"".join(packets))
        for s, r in seg_rows[1:]:
            s.set_content(r, None)

    def _rewrite_pmt(self, section: bytes) -> tuple[bytes, bool]:
        """The PMT with the SCTE-35 stream and CUEI; True if the video or SCTE-35 PIDs
        changed (what follows must be read with the new layout)."""
        pmt = Pmt.parse(section)
        old = (self.video_pid, self.pid, frozenset(self._existing_pids))
        video = next((es for es in pmt.streams if es.stream_type in VIDEO_STREAM_TYPES), None)
        if video is not None and video.elementary_pid != self.video_pid:
            self.video_pid = video.elementary_pid
            self.video_codec = video.stream_type
            self._pending_picture = None
            log.debug("video on PID %d (stream_type 0x%02x)", self.video_pid, self.video_codec)
        existing = {es.elementary_pid for es in pmt.streams if es.stream_type == SCTE35_STREAM_TYPE}
        if self.pid is None:
            self._choose_pid(pmt, existing)
        elif self.existing != "keep" or self.pid not in existing:
            pass
        else:
            raise StreamError(
                f"the input's PMT now declares SCTE-35 on PID {self.pid}, which this injector "
                "uses (existing='keep'): give another pid"
            )
        self._existing_pids = existing if self.existing != "keep" else set()
        used = {es.elementary_pid for es in pmt.streams} | {pmt.pcr_pid}
        if self.pid in used and self.pid not in existing:
            raise StreamError(
                f"PID {self.pid} is already used by the input's PMT: give another pid"
            )
        streams = list(pmt.streams)
        if self.existing == "replace":
            streams = [
                es
                for es in streams
                if es.stream_type != SCTE35_STREAM_TYPE or es.elementary_pid == self.pid
            ]
        mine = next((es for es in streams if es.elementary_pid == self.pid), None)
        if mine is None:
            streams.append(
                EsInfo(
                    SCTE35_STREAM_TYPE,
                    self.pid,
                    [(CUE_IDENTIFIER_TAG, bytes([CUE_STREAM_ALL_COMMANDS]))],
                )
            )
        descriptors = list(pmt.program_descriptors)
        if not any(
            tag == REGISTRATION_DESCRIPTOR_TAG and body[:4] == CUEI.encode()
            for tag, body in descriptors
        ):
            descriptors.append(registration_descriptor(CUEI))
        new = Pmt(
            program_number=pmt.program_number,
            pcr_pid=pmt.pcr_pid,
            streams=streams,
            program_descriptors=descriptors,
            version_number=(pmt.version_number + 1) & 0x1F,
            current_next_indicator=pmt.current_next_indicator,
        ).build()
        now = (self.video_pid, self.pid, frozenset(self._existing_pids))
        return self._versioned(new), now != old

    def _versioned(self, section: bytes) -> bytes:
        """``section`` with this stage's own PMT version_number: the last one sent if the
        content is the same, else one more (the first: the input's + 1, as built)."""
        content = section[:5] + bytes([section[5] & 0xC1]) + section[6:-4]
        if self._pmt_content is None:
            version = (section[5] >> 1) & 0x1F
        elif content == self._pmt_content:
            version = self._pmt_version
        else:
            version = (self._pmt_version + 1) & 0x1F
        if content != self._pmt_content:
            log.debug("PMT content changed: version_number %d", version)
            self._pmt_cache.clear()  # earlier rewrites carry an older version
        self._pmt_content = content
        self._pmt_version = version
        head = section[:5] + bytes([(section[5] & 0xC1) | (version << 1)])
        return with_crc(head + section[6:-4])

    def _choose_pid(self, pmt: Pmt, existing: set[int]) -> None:
        if self.requested_pid is not None:
            pid = self.requested_pid
        elif existing and self.existing in ("add", "replace"):
            pid = min(existing)
        else:
            # PIDs declared or seen so far (not later in this chunk: the choice must not
            # depend on how the input is cut into feeds)
            used = {es.elementary_pid for es in pmt.streams} | {pmt.pcr_pid, self.pmt_pid}
            used |= set(np.unique(self._chunk_pid[: self._chunk_row]).tolist())
            pid = DEFAULT_PID
            while pid in used or self._seen_pids[pid]:
                pid += 1
        self.pid = pid
        self._cue_out = SectionPacketizer(pid, self._cue_cc if pid == self.requested_pid else 0)
        log.debug("SCTE-35 on PID %d", pid)

    # ------------------------------------------------------------------ placing cues

    def _resolve_target(self, p: Placement) -> None:
        req = p.request
        zero_u = self._zero_upts
        if req.at is not None:
            p._target = zero_u + round(req.at * PTS_HZ)
            p.requested_pts = p._target % PTS_WRAP
        elif req.pts is not None:
            ref = self._last_frame
            p._target = ref.upts + pts_diff(req.pts, ref.pts)
            p.requested_pts = req.pts
        else:  # immediate, no time: now
            p._target = self._last_frame.upts

    def _place(self) -> None:
        if not self._waiting or self._zero_upts is None or self.pid is None:
            return
        frames = list(self._frames)
        still = []
        for p in self._waiting:
            if not self._try_place(p, frames):
                still.append(p)
        self._waiting = still

    def _try_place(self, p: Placement, frames: list[_Frame]) -> bool:
        target = p._target
        if target is None or self._max_upts is None or self._max_upts < target:
            return False
        # the frame the splice happens at: first IDR (or first frame) at or after target
        x = None
        exact = not self.snap_to_idr or p.request.immediate
        for k, f in enumerate(frames):
            if f.upts < target:
                continue
            if exact:
                x = k
                break
            if f.key is None:
                return False  # not known yet: wait for the rest of its first slice header
            if f.key:
                x = k
                break
        if x is None:
            return False
        req = p.request
        at = frames[x]
        if req.immediate:
            cue = req.cue
            splice_u = None
            p.splice_pts = None
        else:
            splice_u = at.upts if self.snap_to_idr else target
            p.splice_pts = splice_u % PTS_WRAP
            cue = req.cue.with_splice_time((p.splice_pts - req.cue.pts_adjustment) % PTS_WRAP)
        p.cue = cue
        section = cue.encode()
        if req.immediate:
            self._send(p, frames, x - 1, section, search=0)
            p.status = "placed"
            p._done = True
            return True
        limit = splice_u - self._preroll_ticks
        k0 = -1
        for k in range(x - 1, -1, -1):
            if frames[k].upts <= limit:
                k0 = k
                break
        if k0 == -1 and (self._released_upts is None or self._released_upts > limit):
            late = True
        else:
            late = False
        k0 = self._send(p, frames, k0, section)
        first = frames[k0].upts if k0 >= 0 else self._released_upts
        if self.repeat_every:
            step = round(self.repeat_every * PTS_HZ)
            base = first if first is not None else limit
            prev = k0
            i = 1
            while True:
                goal = base + i * step
                if goal >= splice_u:
                    break
                best = None
                for k in range(x - 1, prev, -1):
                    if frames[k].upts <= goal and frames[k].upts < splice_u:
                        best = k
                        break
                if best is not None:
                    prev = self._send(p, frames, best, section, floor=prev)
                i += 1
        if first is None:  # sent before the first video frame: count from stream start
            first = self._zero_upts
        p.preroll = (splice_u - first) / PTS_HZ
        p.status = "late" if late else "placed"
        if late:
            p.reason = (
                f"pre-roll {p.preroll:.3f} s, less than the {self.preroll:g} s asked: the "
                "stream does not reach back that far before its splice point"
            )
            if target < self._zero_upts:
                p.reason += (
                    f" (asked for {(target - self._zero_upts) / PTS_HZ:.3f} s, before the "
                    f"stream's first frame: spliced at "
                    f"{(splice_u - self._zero_upts) / PTS_HZ:.3f} s instead)"
                )
            # said in the report (status, reason); callers decide how loud to be
            log.info("cue %s late: %s", _name(req), p.reason)
        p._done = True
        return True

    def _send(
        self,
        p: Placement,
        frames: list[_Frame],
        k: int,
        section: bytes,
        *,
        floor: int = -2,
        search: int = NULL_SEARCH_FRAMES,
    ) -> int:
        """Put ``section`` in the gap after frame ``k`` (-1: before the first held frame).

        A free null packet takes it if the gap has one, or one of the ``search`` gaps before
        it (after gap ``floor``): arriving a frame or two earlier keeps the mux rate. Else it
        is inserted at the end of gap ``k``. Returns the gap used.
        """
        for cand in range(k, max(floor, k - search - 1, -2), -1):
            if self._null_in_gap(frames, cand, section):
                break
        else:
            cand = k
            frames[k + 1].seg.insert_before(frames[k + 1].row, section)
        if cand >= 0:
            p.arrivals.append(frames[cand].pts)
        else:
            released = self._released_upts
            p.arrivals.append(None if released is None else released % PTS_WRAP)
        return cand

    def _null_in_gap(self, frames: list[_Frame], k: int, section: bytes) -> bool:
        nxt = frames[k + 1]
        lo_seg = frames[k].seg if k >= 0 else self._segments[0]
        lo_row = frames[k].row + 1 if k >= 0 else 0
        first_serial = self._segments[0].serial
        for si in range(lo_seg.serial - first_serial, nxt.seg.serial - first_serial + 1):
            seg = self._segments[si]
            if not seg.nulls:
                continue
            lo = lo_row if seg is lo_seg else 0
            hi = nxt.row if seg is nxt.seg else seg.packets
            j = bisect_left(seg.nulls, lo)
            while j < len(seg.nulls) and seg.nulls[j] < hi:
                r = seg.nulls[j]
                if r not in seg.edits:
                    seg.set_content(r, ("cue", section))
                    return True
                j += 1
        return False

    # --------------------------------------------------------------------- release

    def _release(self, *, everything: bool = False) -> list[Any]:
        out: list[Any] = []
        segs = self._segments
        limit = None if self._max_upts is None else self._max_upts - self._hold_ticks
        pending_seg = self._pending_picture.frame.seg if self._pending_picture else None
        while segs:
            seg = segs[0]
            if not everything:
                if seg is pending_seg:
                    break
                # what came before the first frame (PSI, audio) goes with the first frame
                upts = seg.last_upts if seg.last_upts is not None else self._zero_upts
                ready = upts is not None and limit is not None and upts < limit
                if not ready and self._held_bytes <= self.max_hold_bytes:
                    break
                if not ready and not self._warned_hold:
                    self._warned_hold = True
                    log.warning(
                        "holding more than %d bytes without %g s of video: releasing early",
                        self.max_hold_bytes,
                        self._hold_ticks / PTS_HZ,
                    )
            segs.popleft()
            self._held_bytes -= len(seg.data)
            keys = []
            while self._frames and self._frames[0].seg is seg:
                f = self._frames.popleft()
                self._released_upts = f.upts
                if f.key:
                    keys.append(f.row)
            self._serialize(seg, out, keys)
        for chunk in out:
            self.bytes_out += len(chunk)
        return out

    def _serialize(self, seg: _Segment, out: list[Any], keys: list[int] | None = None) -> None:
        """Append ``seg``'s packets, edits applied, to ``out``; note where rows ``keys``
        (IDR frames' first packets) land in the output, in ``key_offsets``."""
        data = seg.data
        keys = keys or []
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
        packer = self._cue_out
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
                b = bytearray(row)
                if b[3] & 0x10:  # has payload: the counter counts it
                    b[3] = (b[3] & 0xF0) | packer.cc
                    packer.cc = (packer.cc + 1) & 0x0F
                else:
                    b[3] = (b[3] & 0xF0) | ((packer.cc - 1) & 0x0F)
                out.append(bytes(b))
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

    # ------------------------------------------------------------------------ report

    def report(self) -> pd.DataFrame:
        """One row per cue: what was asked, where it went, its pre-roll and sends."""
        import pandas as pd

        rows = [p.as_row(self.zero_pts) for p in self.placements]
        cols = list(Placement(CueRequest(Cue.splice_null(), immediate=True)).as_row(None))
        df = pd.DataFrame(rows, columns=cols)
        for c in (
            "splice_event_id",
            "segmentation_event_id",
            "segmentation_type_id",
            "requested_pts",
            "splice_pts",
        ):
            df[c] = df[c].astype("Int64")
        for c in ("requested_time", "splice_time", "first_arrival_time", "preroll"):
            df[c] = df[c].astype(float)
        df["sends"] = df["sends"].astype(np.int64)
        return df


def _payload(rows: np.ndarray, head: np.ndarray, r: int) -> bytes:
    h = int(head[r])
    afc = (h >> 4) & 3
    if not afc & 1:
        return b""
    start = 4 if afc == 1 else 5 + int(rows[r, 4])
    return rows[r, start:TS_PACKET_SIZE].tobytes() if start < TS_PACKET_SIZE else b""


def _name(req: CueRequest) -> str:
    cue = req.cue
    ident = cue.splice_event_id
    if ident is None and cue.segmentation_descriptors:
        ident = cue.segmentation_descriptors[0].segmentation_event_id
    label = f" ({req.label})" if req.label else ""
    return f"{cue.command_name} {ident if ident is not None else ''}{label}".strip()


# ----------------------------------------------------------------------------- files


Source = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO


def _open_source(src: Source) -> tuple[BinaryIO | bytes, bool]:
    """(readable or bytes, whether we opened it and must close it); refuses input that is
    not MPEG-TS with a :class:`NotTransportStreamError`."""
    if isinstance(src, bytes | bytearray | memoryview):
        return require_ts(bytes(src)), False
    if isinstance(src, str | os.PathLike):
        try:
            f = open(src, "rb")  # noqa: SIM115 - closed by the caller
        except FileNotFoundError:
            raise
        except OSError as e:
            raise StreamError(f"cannot open {os.fspath(src)!r}: {e.strerror}") from e
        try:
            return require_ts(f, source_name(src)), True
        except BaseException:
            f.close()
            raise
    if hasattr(src, "read"):
        return require_ts(src), False
    raise StreamError(f"cannot inject into a {type(src).__name__}: give a path, bytes or a file")


def _chunks(src: BinaryIO | bytes, size: int) -> Iterator[bytes]:
    if isinstance(src, bytes):
        for i in range(0, len(src), size):
            yield src[i : i + size]
        return
    yield from iter(lambda: src.read(size), b"")


def inject(
    src: Source,
    dst: str | os.PathLike | BinaryIO,
    cues_or_schedule: CueInput | Iterable[CueInput],
    *,
    pid: int | None = None,
    preroll: float = 4.0,
    repeat_every: float | None = 1.0,
    snap_to_idr: bool = True,
    existing: str = "add",
    program: int | None = None,
    margin: float = 1.0,
    strict: bool = False,
) -> pd.DataFrame:
    """Write ``src`` to ``dst`` with cues on their own SCTE-35 PID; returns one row per cue.

    ``cues_or_schedule``: a ``Schedule``, ``Cue`` objects (spliced at their own splice
    point), ``(seconds, Cue)`` pairs (seconds from stream time zero) or ``CueRequest``s.
    See :class:`Injector` for the keyword arguments and the module docstring for the rules.

    A cue that could not be placed is not an exception by default: its row has ``status``
    ``missed`` (and ``reason`` says why), so check ``(report["status"] == "missed").any()``
    - ``late`` cues were placed with less pre-roll than asked. ``strict=True`` raises
    :class:`CuesNotPlacedError` instead (its ``report`` is the table) and, when ``dst`` is
    a path, leaves no output. A path ``dst`` is written under a temporary name and renamed
    only when complete. Input that is not MPEG-TS raises :class:`NotTransportStreamError`.
    """
    inj = Injector(
        cues_or_schedule,
        pid=pid,
        preroll=preroll,
        repeat_every=repeat_every,
        snap_to_idr=snap_to_idr,
        existing=existing,
        program=program,
        margin=margin,
    )
    source, close = _open_source(src)
    try:
        if isinstance(dst, str | os.PathLike):
            same = (
                isinstance(src, str | os.PathLike)
                and os.path.exists(dst)
                and os.path.samefile(src, dst)
            )
            if same:
                raise StreamError(f"inject would overwrite its input {os.fspath(src)!r}")
            with contextlib.ExitStack() as stack:
                try:
                    out = stack.enter_context(atomic_file(dst, "wb"))
                except OSError as e:
                    raise StreamError(f"cannot write {os.fspath(dst)!r}: {e.strerror}") from e
                _run(inj, source, out)
                _check(inj, strict)
        else:
            _run(inj, source, dst)
            _check(inj, strict)
    finally:
        if close:
            source.close()
    return inj.report()


def _check(inj: Injector, strict: bool) -> None:
    """The stream had somewhere to inject; with ``strict``, every cue was placed."""
    if inj.pid is None:
        raise StreamError("no PAT/PMT found in the input: nothing to inject into")
    missed = [p for p in inj.placements if p.status not in ("placed", "late")]
    if strict and missed:
        raise CuesNotPlacedError(
            f"{len(missed)} of {len(inj.placements)} cue(s) not placed: "
            + "; ".join(f"{_name(p.request)}: {p.reason or p.status}" for p in missed),
            report=inj.report(),
        )


def _run(inj: Injector, src: BinaryIO | bytes, out: BinaryIO) -> None:
    write = out.write
    for chunk in _chunks(src, CHUNK):
        for piece in inj._feed(chunk):
            write(piece)
    for piece in inj._flush():
        write(piece)


__all__ = [
    "CueRequest",
    "Injector",
    "Placement",
    "cue_requests",
    "inject",
]
