"""One streaming demultiplexer for every stage that follows a TS.

:class:`Demux` takes TS bytes in any chunking (188-byte packets; it finds the sync byte and
finds it again after a loss), follows PAT and PMT (new versions, several programs, PMT PIDs
that move) with a :class:`~scte35lab.ts.psi.PsiFollower`, assembles the PSI and private
sections of each PID, reads each PES header and its timestamps, and for H.264 and HEVC
video finds each access unit and whether it is an IDR (H.264) or IRAP (HEVC) picture. It
calls back the subscribers with what they asked for, in stream order: a subscriber is any
object with some of these methods (the way a TSDuck plugin holds a service-discovery object
and a packetizer instead of parsing tables itself):

- ``on_pat(pat)`` when a PAT is new, ``on_pmt(program_number, pmt)`` when a PMT is;
- ``on_section(pid, section, offset)`` for every complete section on a PAT, PMT, SCTE-35
  (stream_type 0x86) or ``section_pids`` PID, and for an SCTE-35 section found inside a
  private PES (stream_type 0x06: how FFmpeg's muxer rewrites SCTE-35);
- ``on_pes(pid, header, data, offset)`` at each PES start of a non-video stream (``data``:
  that packet's bytes after the PES header);
- ``on_access_unit(au)`` for each video PES (one access unit) once it has ended.

``offset`` is the stream byte offset of the packet (where a section completes, where a PES
starts). Only the packets that matter are read one by one: PSI and section PIDs, PES starts,
and the first packets of each video access unit; the rest is counted per chunk with numpy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scte35lab.ts import nal
from scte35lab.ts.packets import TS_PACKET_SIZE, PacketAligner, header_words
from scte35lab.ts.pes import PesHeader, parse_pes_header, pes_section
from scte35lab.ts.psi import (
    PAT_PID,
    SCTE35,
    Pat,
    Pmt,
    PsiFollower,
    StreamClass,
    classify_stream,
    crc_ok,
    section_length,
)
from scte35lab.ts.sections import PidSections

log = logging.getLogger(__name__)

HEAD_BYTES = 4096  # of each access unit: enough for AUD, parameter sets, SEI, a slice header
_PAYLOAD = TS_PACKET_SIZE - 4

VIDEO = "video"  # the role psi.classify_stream gives video
PES = "pes"
SECTIONS = "sections"
PRIVATE = "private"  # stream_type 0x06 of unnamed content: maybe SCTE-35 as FFmpeg remuxes it
MAX_PRIVATE_PES = 4096


@dataclass
class AccessUnit:
    """One video access unit (one PES packet), as it ended."""

    pid: int
    codec: str  # "h264", "hevc", or the stream_type's name
    pts: int | None
    dts: int | None
    keyframe: bool  # IDR (H.264) or IRAP (HEVC)
    recovery_point: bool  # an I picture a recovery-point SEI announces
    picture_type: str | None
    size: int | None  # TS payload bytes of its PES packet, PES header included (None: not
    # counted, ``Demux(sizes=False)``)
    offset: int  # stream byte offset of the packet where it starts
    head: bytes  # its first elementary-stream bytes (up to HEAD_BYTES)


@dataclass
class _Es:
    """One elementary stream being followed."""

    pid: int
    stream_type: int
    program: int
    kind: str
    codec: str
    open: bool = False
    header: PesHeader | None = None
    head: bytearray = field(default_factory=bytearray)
    size: int = 0
    start_row: int = 0  # row of the current chunk from which ``size`` still counts
    offset: int = 0
    last_offset: int = 0
    scte35: bool = False  # a private PES carried an SCTE-35 section
    hevc: nal.HevcState = field(default_factory=nal.HevcState)


class Demux:
    """Streaming demultiplexer (see the module doc): ``feed(chunk)`` ... ``flush()``."""

    def __init__(
        self,
        *subscribers: Any,
        section_pids: Iterable[int] = (),
        head_bytes: int = HEAD_BYTES,
        sizes: bool = True,
    ) -> None:
        self.psi = PsiFollower()
        self.sections = PidSections()
        self.offset = 0  # stream byte offset of the next byte fed
        self.video_pts: dict[int, int] = {}  # video PID -> PTS of its last PES start so far
        self.resyncs = 0
        self.head_bytes = head_bytes
        self.sizes = sizes  # count each access unit's bytes (a few numpy calls per chunk)
        self._head_packets = head_bytes // _PAYLOAD + 2
        self._section_pids = set(section_pids)
        self._es: dict[int, _Es] = {}
        self._subs: list[Any] = []
        self._calls: dict[str, list[Callable[..., Any]]] = {}
        self._aligner = PacketAligner()
        self._rows: np.ndarray | None = None
        self._pid: np.ndarray | None = None
        self._plen: np.ndarray | None = None
        self._cum: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for sub in subscribers:
            self.subscribe(sub)

    def subscribe(self, subscriber: Any) -> Any:
        """Call ``subscriber``'s ``on_*`` methods from now on; returns it."""
        self._subs.append(subscriber)
        names = ("on_pat", "on_pmt", "on_section", "on_pes", "on_access_unit")
        self._calls = {n: [getattr(s, n) for s in self._subs if hasattr(s, n)] for n in names}
        return subscriber

    @property
    def streams(self) -> dict[int, tuple[int, int]]:
        """Elementary PID -> (program_number, stream_type) of every stream the PMTs list."""
        return {es.pid: (es.program, es.stream_type) for es in self._es.values()}

    @property
    def scte35_pids(self) -> set[int]:
        """PIDs that carry SCTE-35: as sections, or (found so far) inside private PES."""
        return {e.pid for e in self._es.values() if e.kind == SECTIONS or e.scte35}

    # ------------------------------------------------------------------ bytes in

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Read ``data`` (any length; a partial packet waits for the next call)."""
        aligner = self._aligner
        for piece, rows, head in aligner.split(data):
            if aligner.losses != self.resyncs:
                self.lost_sync()
            if rows is None:
                self.offset += len(piece)  # not in sync: skipped
            else:
                self.packets(rows, head)
        if aligner.losses != self.resyncs:
            self.lost_sync()

    def lost_sync(self) -> None:
        """Forget what was in progress (sections, access units): bytes went missing."""
        self.resyncs = self._aligner.losses
        self.sections.reset()
        for es in self._es.values():
            es.open = False

    def flush(self) -> None:
        """End of stream: the access units (and private PES) still open end here."""
        for es in list(self._es.values()):
            if es.open and es.kind == VIDEO:
                self._access_unit(es)
            elif es.open and es.kind == PRIVATE:
                self._private_end(es)
        self.offset += len(self._aligner.tail)
        self._aligner.tail = b""

    def packets(self, rows: np.ndarray, head: np.ndarray | None = None) -> None:
        """Read whole packets ``rows`` (``(n, 188)`` uint8, sync byte first), the first at
        byte ``offset``; ``head``: their header words if the caller has them."""
        n = len(rows)
        if not n:
            return
        h = header_words(rows) if head is None else head
        pid = ((h >> 8) & 0x1FFF).astype(np.int32)
        pusi = (h & 0x400000) != 0
        self._rows, self._pid, self._plen, self._cum = rows, pid, None, {}
        base = self.offset
        start = 0
        while start < n:
            for i in self._wanted(pid, pusi, start):
                if self._packet(rows[i], int(pid[i]), bool(pusi[i]), i, base):
                    start = i + 1  # PAT or PMT changed what to read: look again
                    break
            else:
                break
        if self.sizes:
            for es in self._es.values():
                if es.open and es.kind == VIDEO:
                    es.size += self._bytes(es.pid, es.start_row, n)
                    es.start_row = 0
        self.offset = base + n * TS_PACKET_SIZE
        self._rows = self._pid = self._plen = None
        self._cum = {}

    # ------------------------------------------------------------------ per packet

    def _wanted(self, pid: np.ndarray, pusi: np.ndarray, start: int) -> list[int]:
        p = pid[start:]
        u = pusi[start:]
        section_pids = {PAT_PID, *self.psi.pmt_pids, *self._section_pids}
        want = np.zeros(len(p), dtype=bool)
        for es in self._es.values():
            if es.kind == SECTIONS or es.kind == PRIVATE:
                section_pids.add(es.pid)
            elif es.kind == PES and self._calls["on_pes"]:
                want |= (p == es.pid) & u
            elif es.kind == VIDEO and self._calls["on_access_unit"]:
                idx = np.flatnonzero(p == es.pid)
                if not len(idx):
                    continue
                ordinal = np.arange(len(idx))
                last_start = np.maximum.accumulate(np.where(u[idx], ordinal, -1))
                near = (last_start >= 0) & (ordinal - last_start < self._head_packets)
                if es.open and len(es.head) < self.head_bytes:
                    near |= last_start < 0  # an access unit going on from before
                want[idx[near]] = True
        for s in section_pids:
            want |= p == s
        return (np.flatnonzero(want) + start).tolist()

    def _packet(self, row: np.ndarray, pid: int, pusi: bool, i: int, base: int) -> bool:
        """Read one packet; True when the streams to follow changed."""
        afc = (int(row[3]) >> 4) & 3
        if not afc & 1:
            return False
        start = 4 if afc == 1 else 5 + int(row[4])
        if start >= TS_PACKET_SIZE:
            return False
        payload = row[start:].tobytes()
        offset = base + i * TS_PACKET_SIZE
        es = self._es.get(pid)
        if es is not None and es.kind == PRIVATE:
            self._private(es, payload, pusi, offset)
            return False
        if es is None or es.kind == SECTIONS or self.psi.follows(pid):
            changed = False
            for section in self.sections.push(pid, payload, pusi):
                changed |= self._section(pid, section, offset)
            return changed
        if es.kind == VIDEO:
            self._video(es, payload, pusi, i, offset)
        elif pusi:
            hdr = parse_pes_header(payload)
            if hdr is not None:
                for call in self._calls["on_pes"]:
                    call(pid, hdr, payload[hdr.header_length :], offset)
        return False

    def _section(self, pid: int, section: bytes, offset: int) -> bool:
        for call in self._calls["on_section"]:
            call(pid, section, offset)
        if not self.psi.follows(pid):
            return False
        table = self.psi.section(pid, section)
        if table is None:
            return False
        changed = self._follow_streams() or isinstance(table, Pat)
        if isinstance(table, Pat):
            for call in self._calls["on_pat"]:
                call(table)
        elif isinstance(table, Pmt):
            for call in self._calls["on_pmt"]:
                call(table.program_number, table)
        return changed

    def _follow_streams(self) -> bool:
        """Match the streams followed to what the PMTs now list; True if that changed."""
        new: dict[int, _Es] = {}
        for pid, (program, es) in self.psi.streams().items():
            st = es.stream_type
            old = self._es.get(pid)
            if old is not None and old.stream_type == st:
                old.program = program
                new[pid] = old
                continue
            cls = classify_stream(st, es.descriptors, es.registration)
            new[pid] = _Es(pid, st, program, _kind(cls), cls.codec)
        changed = {p: e.kind for p, e in new.items()} != {p: e.kind for p, e in self._es.items()}
        self._es = new
        return changed

    def _video(self, es: _Es, payload: bytes, pusi: bool, i: int, offset: int) -> None:
        if pusi:
            if es.open:
                if self.sizes:
                    es.size += self._bytes(es.pid, es.start_row, i)
                self._access_unit(es)
            hdr = parse_pes_header(payload)
            if hdr is None:
                es.open = False
                return
            es.open = True
            es.header = hdr
            es.head = bytearray(payload[hdr.header_length :])
            es.size = 0
            es.start_row = i
            es.offset = offset
            if hdr.pts is not None:
                self.video_pts[es.pid] = hdr.pts
        elif es.open and len(es.head) < self.head_bytes:
            es.head += payload

    def _private(self, es: _Es, payload: bytes, pusi: bool, offset: int) -> None:
        """Collect a private PES; at its end, an SCTE-35 section in it is called back."""
        if pusi:
            if es.open:
                self._private_end(es)
            es.open, es.head, es.offset = True, bytearray(payload), offset
        elif es.open:
            es.head += payload
        else:
            return
        es.last_offset = offset
        head = es.head
        length = (head[4] << 8) | head[5] if len(head) >= 6 else 0
        if (length and len(head) >= 6 + length) or len(head) > MAX_PRIVATE_PES:
            self._private_end(es)

    def _private_end(self, es: _Es) -> None:
        es.open = False
        _, section = pes_section(es.head)
        if section is None or len(section) != section_length(section) or not crc_ok(section):
            return
        es.scte35 = True
        for call in self._calls["on_section"]:
            call(es.pid, section, es.last_offset)

    def open_access_units(self) -> list[AccessUnit]:
        """The video access units still coming in, as far as they have come (their size
        so far); they are called back in full when they end."""
        return [self._made(es) for es in self._es.values() if es.open and es.kind == VIDEO]

    def _access_unit(self, es: _Es) -> None:
        es.open = False
        au = self._made(es)
        for call in self._calls["on_access_unit"]:
            call(au)

    def _made(self, es: _Es) -> AccessUnit:
        head = bytes(es.head[: self.head_bytes])
        if es.codec == nal.H264:
            info = nal.h264_picture(head)
        elif es.codec == nal.HEVC:
            info = nal.hevc_picture(head, es.hevc)
        else:
            info = nal.PictureInfo()
        hdr = es.header
        return AccessUnit(
            pid=es.pid,
            codec=es.codec,
            pts=None if hdr is None else hdr.pts,
            dts=None if hdr is None else hdr.dts,
            keyframe=info.keyframe,
            recovery_point=info.recovery_point,
            picture_type=info.picture_type,
            size=es.size if self.sizes else None,
            offset=es.offset,
            head=head,
        )

    def _bytes(self, pid: int, a: int, b: int) -> int:
        """Payload bytes of ``pid`` in rows ``a``..``b`` (exclusive) of the current chunk."""
        if self._pid is None or self._rows is None or b <= a:
            return 0
        cum = self._cum.get(pid)
        if cum is None:
            if self._plen is None:
                self._plen = _payload_lengths(self._rows)
            idx = np.flatnonzero(self._pid == pid)
            cum = self._cum[pid] = (idx, np.concatenate(([0], np.cumsum(self._plen[idx]))))
        idx, cs = cum
        lo, hi = np.searchsorted(idx, (a, b))
        return int(cs[hi] - cs[lo])


def stream_kind(stream_type: int, descriptors: list, registration: str | None) -> str:
    """How the demux follows an elementary stream: SCTE-35 sections (0x86, or 0x05 with a
    CUEI registration), video access units, a private PES that may hide SCTE-35 (0x06
    without a descriptor naming its codec), or plain PES."""
    return _kind(classify_stream(stream_type, descriptors, registration))


def _kind(cls: StreamClass) -> str:
    if cls.role == SCTE35:
        return SECTIONS
    if cls.role == VIDEO:
        return VIDEO
    return PRIVATE if cls.private else PES


def _payload_lengths(rows: np.ndarray) -> np.ndarray:
    """Payload bytes of each packet of ``rows``."""
    afc = (rows[:, 3] >> 4) & 3
    af = np.where(afc & 2, rows[:, 4].astype(np.int64) + 1, 0)
    return np.where(afc & 1, np.maximum(_PAYLOAD - af, 0), 0)


__all__ = ["HEAD_BYTES", "AccessUnit", "Demux", "stream_kind"]
