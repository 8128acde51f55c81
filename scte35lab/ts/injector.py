"""The SCTE-35 injector: one streaming stage, TS bytes in, TS bytes out.

:class:`Injector` knows nothing of files, pipes or sockets: ``feed(data)`` returns the bytes
that may go out now, ``flush()`` the rest at the end (``feed_pieces``/``flush_pieces``: the
same as a list of zero-copy pieces). :func:`scte35lab.ts.inject.inject` runs it over a file
as a stage of a :class:`~scte35lab.ts.chain.Chain`. It is the core that drives four
collaborators, each holding its own state: :class:`~scte35lab.ts.pmtrewrite.PmtRewriter`
(PAT/PMT, the SCTE-35 PID), :class:`~scte35lab.ts.videoframes.FrameFinder` (frames, IDRs),
:class:`~scte35lab.ts.cueplacer.CuePlacer` (where cues go) and
:class:`~scte35lab.ts.heldoutput.HeldOutput` (the look-ahead and its release).

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

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from scte35lab.clock import PTS_HZ
from scte35lab.cue import Cue
from scte35lab.errors import StreamError
from scte35lab.ts.chain import Piece
from scte35lab.ts.cueplacer import CuePlacer
from scte35lab.ts.cuerequests import (
    CueInput,
    CueRequest,
    Placement,
    as_request,
    cue_requests,
    placement_table,
)
from scte35lab.ts.heldoutput import HeldOutput
from scte35lab.ts.packets import NULL_PID, PacketAligner
from scte35lab.ts.pmtrewrite import EXISTING_MODES, PmtRewriter
from scte35lab.ts.videoframes import FrameFinder

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

MAX_HOLD_BYTES = 512 << 20


class InjectorOptions(TypedDict, total=False):
    """The keyword arguments :func:`~scte35lab.ts.inject.inject` hands to :class:`Injector`
    (the class says what each means and its default)."""

    pid: int | None
    preroll: float
    repeat_every: float | None
    snap_to_idr: bool
    existing: str
    program: int | None
    margin: float


class _Found:
    """A read-only attribute of :class:`Injector` that one of its collaborators holds:
    ``pid = _Found("_psi", doc)`` reads ``self._psi.pid`` (or ``self._psi.<attr>``)."""

    def __init__(self, holder: str, doc: str, attr: str | None = None) -> None:
        self.holder = holder
        self.attr = attr
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr = self.attr or name

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(getattr(obj, self.holder), self.attr)

    def __set__(self, obj: object, value: object) -> None:
        raise AttributeError(f"Injector.{self.attr} is read-only")


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
        self.preroll = float(preroll)
        self.repeat_every = float(repeat_every) if repeat_every else None
        self.snap_to_idr = snap_to_idr
        self.existing = existing
        self.max_hold_bytes = max_hold_bytes
        self._follows = follows
        self._aligner = PacketAligner(strict=True, name="inject")
        self._hold = HeldOutput(round((self.preroll + margin) * PTS_HZ), max_hold_bytes)
        self._video = FrameFinder(self._hold, on_zero=self._stream_started)
        self._psi = PmtRewriter(pid, existing, program, on_video=self._video.set_codec)
        self._placer = CuePlacer(
            self._hold,
            self._video,
            preroll=self.preroll,
            repeat_every=self.repeat_every,
            snap_to_idr=snap_to_idr,
        )
        self.bytes_in = 0
        self.packets_in = 0
        for c in cue_requests(cues):
            self.add(c)

    def __repr__(self) -> str:
        placed = sum(p.status in ("placed", "late") for p in self.placements)
        return (
            f"<Injector pid={self.pid} video_pid={self.video_pid} preroll={self.preroll:g}s "
            f"{placed}/{len(self.placements)} cues placed, {self._hold.held_bytes} bytes held>"
        )

    # ------------------------------------------------------------ what it has found

    pid = _Found("_psi", "The SCTE-35 PID (None until the PMT is seen).")
    requested_pid = _Found("_psi", "The SCTE-35 PID asked for (or taken over when following).")
    pmt_pid = _Found("_psi", "The PID of the PMT of the program injected into.")
    program = _Found("_psi", "The program_number injected into (asked for, or the PAT's first).")
    video_pid = _Found("_psi", "The PID of the program's video.")
    video_codec = _Found("_psi", "The video's stream_type (0x1B H.264, 0x24 HEVC).")
    zero_pts = _Found("_video", "Stream time zero: the first video frame's PTS.")
    _last_frame = _Found("_video", "The last video frame seen.", "last_frame")
    placements = _Found("_placer", "What became of every cue asked for, in order of adding.")
    bytes_out = _Found("_hold", "Bytes given out so far.")
    key_offsets = _Found(
        "_hold",
        "Output byte offsets (``bytes_out`` terms) where an IDR access unit's first packet "
        "went out: where a receiver joining the output can start decoding (the last 64).",
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
            req = as_request(cue)
            req.label = label if label is not None else req.label
        else:
            req = CueRequest(
                cue if isinstance(cue, Cue) else Cue.decode(cue),
                at=at,
                pts=pts,
                immediate=immediate,
                label=label,
            )
        p = self._placer.add(req)
        self._place()
        return p

    def cancel(self, placement: Placement) -> bool:
        """Withdraw a cue not placed yet (its status becomes ``cancelled``); ``False`` when
        it is already in the output (or was never this stage's)."""
        return self._placer.cancel(placement)

    def feed(self, data: bytes | bytearray | memoryview) -> bytes:
        """Take TS bytes (any amount); return the bytes ready to go out (maybe none)."""
        return b"".join(self.feed_pieces(data))

    def flush(self, *, keep_waiting: bool = False) -> bytes:
        """End of stream: place what can be placed, return everything still held.

        Cues not placed are ``missed``, unless ``keep_waiting``: then they stay ``pending``
        (a live input that went away may come back before their splice points, and the
        caller decides what becomes of them).
        """
        return b"".join(self.flush_pieces(keep_waiting=keep_waiting))

    def feed_pieces(self, data: bytes | bytearray | memoryview) -> list[Piece]:
        """As :meth:`feed`, but the output as pieces to write in order (``writelines``):
        views of the input where nothing changed, so nothing is copied."""
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

    def flush_pieces(self, *, keep_waiting: bool = False) -> list[Piece]:
        """As :meth:`flush`, but the output as pieces (see :meth:`feed_pieces`)."""
        if self._follows is not None:
            self._take_over(self._follows)
        tail, self._aligner.tail = self._aligner.tail, b""
        if tail:
            log.warning("%d bytes at the end are not a whole packet: passed through", len(tail))
            self._raw(memoryview(tail))
        self._video.settle()
        self._place()
        if not keep_waiting:
            self._placer.give_up()
        return self._release(everything=True)

    # ------------------------------------------------------------------- the pipeline

    def _take_over(self, prev: Injector) -> None:
        """Continue ``prev``'s output: its SCTE-35 PID and counter, its PMT version line."""
        if prev._hold.segments or prev._aligner.tail:
            raise StreamError(
                "the injector this one follows still holds output: flush it before feeding this one"
            )
        self._follows = None  # no chain of old sessions kept alive
        self._psi.continue_from(prev._psi)

    def _stream_started(self) -> None:
        self._placer.stream_started()

    def _place(self) -> None:
        if self._psi.pid is not None:
            self._placer.place()

    def _release(self, *, everything: bool = False) -> list[Piece]:
        return self._hold.release(
            self._psi.cue_out,
            max_upts=self._video.max_upts,
            zero_upts=self._video.zero_upts,
            keep=self._video.reading(),
            everything=everything,
        )

    def _raw(self, mv: memoryview) -> None:
        seg = self._hold.segment(mv, raw=True)
        last = self._video.last_frame
        seg.last_upts = last.upts if last is not None else None
        self._hold.hold(seg)

    def _process(self, mv: memoryview, rows: np.ndarray, head: np.ndarray) -> None:
        """One run of whole packets: PSI first (a new PMT changes how what follows it is
        read), then nulls, SCTE-35 and video in the rows up to the next change."""
        seg = self._hold.segment(mv)
        n = len(rows)
        self.packets_in += n
        pid = ((head >> 8) & 0x1FFF).astype(np.uint16)
        psi = self._psi
        psi.start_chunk(pid)
        start = 0
        while start < n:
            end = n
            for i in (np.flatnonzero(psi.psi_rows(pid[start:])) + start).tolist():
                if psi.packet(seg, rows, head, i):
                    end = i + 1
                    break
            self._scan_range(seg, rows, head, pid, start, end)
            start = end
        psi.end_chunk()
        last = self._video.last_frame
        if seg.last_upts is None and last is not None:
            seg.last_upts = last.upts
        self._hold.hold(seg)

    def _scan_range(self, seg, rows, head, pid, a: int, b: int) -> None:
        if a >= b:
            return
        p = pid[a:b]
        nulls = np.flatnonzero(p == NULL_PID)
        if len(nulls):
            seg.nulls.extend((nulls + a).tolist())
        self._psi.claim(seg, p, a)
        video_pid = self._psi.video_pid
        if video_pid is None:
            return
        vid = np.flatnonzero(p == video_pid) + a
        if len(vid):
            self._video.scan(seg, rows, head, vid)

    # ------------------------------------------------------------------------ report

    def report(self) -> pd.DataFrame:
        """One row per cue: what was asked, where it went, its pre-roll and sends."""
        return placement_table(self.placements, self.zero_pts)


__all__ = ["MAX_HOLD_BYTES", "Injector", "InjectorOptions"]
