"""Where the injector puts each cue: its splice point on an IDR, its copies before it.

:class:`CuePlacer` keeps the cues waiting for their IDR. Once the held output shows the
frame a cue splices at (the first IDR at or after the requested time with ``snap_to_idr``,
else the exact PTS), the cue's pts_time is rewritten to that frame's PTS minus
pts_adjustment and its packets are recorded as edits of the held segments: the first copy
in the latest gap between two video frames whose arrival is at least ``preroll`` before the
splice point, repeats every ``repeat_every`` seconds while their arrival is still before
it. A copy takes the place of a null packet in its gap or one of the
``NULL_SEARCH_FRAMES`` gaps before it (the mux rate stays the same), else it is inserted.
"""

from __future__ import annotations

import logging
from bisect import bisect_left

from scte35lab.clock import PTS_HZ, PTS_WRAP, pts_diff
from scte35lab.ts.cuerequests import CueRequest, Placement
from scte35lab.ts.heldoutput import Frame, HeldOutput
from scte35lab.ts.videoframes import FrameFinder

log = logging.getLogger(__name__)

NULL_SEARCH_FRAMES = 12  # gaps searched back for a null packet before inserting one


class CuePlacer:
    """The cues asked for (``placements``) and the edits that put them in the held output."""

    def __init__(
        self,
        hold: HeldOutput,
        video: FrameFinder,
        *,
        preroll: float,
        repeat_every: float | None,
        snap_to_idr: bool,
    ) -> None:
        self._hold = hold
        self._video = video
        self.preroll = preroll
        self.repeat_every = repeat_every
        self.snap_to_idr = snap_to_idr
        self._preroll_ticks = round(preroll * PTS_HZ)
        self.placements: list[Placement] = []
        self._waiting: list[Placement] = []

    def add(self, req: CueRequest) -> Placement:
        """Wait for ``req``'s splice point; its placement."""
        p = Placement(req, requested_pts=req.pts)
        self.placements.append(p)
        self._waiting.append(p)
        if self._video.zero_upts is not None:
            self._resolve_target(p)
        return p

    def cancel(self, placement: Placement) -> bool:
        """Withdraw a waiting cue (status ``cancelled``); False when it is not waiting."""
        if placement not in self._waiting:
            return False
        self._waiting.remove(placement)
        placement.status = "cancelled"
        placement._done = True
        return True

    def stream_started(self) -> None:
        """Stream time zero is known: the waiting cues' times can be resolved."""
        for p in self._waiting:
            self._resolve_target(p)

    def place(self) -> None:
        """Place every waiting cue whose splice frame the held output now shows."""
        if not self._waiting or self._video.zero_upts is None:
            return
        frames = list(self._hold.frames)
        self._waiting = [p for p in self._waiting if not self._try_place(p, frames)]

    def give_up(self) -> None:
        """The end of the stream: the cues still waiting are ``missed``, each with why."""
        for p in self._waiting:
            if not p._done:
                p.status = "missed"
                p.reason = self._missed_reason(p)
                p._done = True
                log.info("cue %s not sent: %s", p.request.describe(), p.reason)
        self._waiting = []

    def _missed_reason(self, p: Placement) -> str:
        """Why ``p`` was not placed by the end of the stream, with the times."""
        zero, top = self._video.zero_upts, self._video.max_upts
        if zero is None or top is None:
            return "the stream has no video frame to splice at"
        end = (top - zero) / PTS_HZ
        if p._target is None:
            return f"the stream ended (last frame at {end:.3f} s) before its time was known"
        asked = (p._target - zero) / PTS_HZ
        if p._target <= top:
            return (
                f"no IDR at or after its splice point ({asked:.3f} s) before the stream "
                f"ended (last frame at {end:.3f} s)"
            )
        return (
            f"the stream ended before its splice point ({asked:.3f} s asked, "
            f"last frame at {end:.3f} s)"
        )

    def _resolve_target(self, p: Placement) -> None:
        req = p.request
        ref = self._video.last_frame
        if req.at is not None:
            p._target = self._video.zero_upts + round(req.at * PTS_HZ)
            p.requested_pts = p._target % PTS_WRAP
        elif req.pts is not None:
            p._target = ref.upts + pts_diff(req.pts, ref.pts)
            p.requested_pts = req.pts
        else:  # immediate, no time: now
            p._target = ref.upts

    def _splice_frame(self, p: Placement, frames: list[Frame]) -> int | None:
        """The index of the frame ``p`` splices at: the first IDR (or the first frame) at
        or after its target; None while that is not known yet."""
        target = p._target
        exact = not self.snap_to_idr or p.request.immediate
        for k, f in enumerate(frames):
            if f.upts < target:
                continue
            if exact:
                return k
            if f.key is None:
                return None  # not known yet: wait for the rest of its first slice header
            if f.key:
                return k
        return None

    def _try_place(self, p: Placement, frames: list[Frame]) -> bool:
        target = p._target
        top = self._video.max_upts
        if target is None or top is None or top < target:
            return False
        x = self._splice_frame(p, frames)
        if x is None:
            return False
        req = p.request
        at = frames[x]
        if req.immediate:
            p.cue = req.cue
            p.splice_pts = None
            self._send(p, frames, x - 1, req.cue.encode(), search=0)
            p.status = "placed"
            p._done = True
            return True
        splice_u = at.upts if self.snap_to_idr else target
        p.splice_pts = splice_u % PTS_WRAP
        p.cue = req.cue.with_splice_time((p.splice_pts - req.cue.pts_adjustment) % PTS_WRAP)
        section = p.cue.encode()
        limit = splice_u - self._preroll_ticks
        k0 = next((k for k in range(x - 1, -1, -1) if frames[k].upts <= limit), -1)
        released = self._hold.released_upts
        late = k0 == -1 and (released is None or released > limit)
        k0 = self._send(p, frames, k0, section)
        first = frames[k0].upts if k0 >= 0 else released
        if self.repeat_every:
            self._repeat(p, frames, section, first if first is not None else limit, k0, x, splice_u)
        if first is None:  # sent before the first video frame: count from stream start
            first = self._video.zero_upts
        p.preroll = (splice_u - first) / PTS_HZ
        p.status = "late" if late else "placed"
        if late:
            p.reason = self._late_reason(p, target, splice_u)
            # said in the report (status, reason); callers decide how loud to be
            log.info("cue %s late: %s", req.describe(), p.reason)
        p._done = True
        return True

    def _repeat(
        self,
        p: Placement,
        frames: list[Frame],
        section: bytes,
        base: int,
        prev: int,
        x: int,
        splice_u: int,
    ) -> None:
        """Copies every ``repeat_every`` from ``base`` while they arrive before the splice
        frame ``x``, each in a gap after gap ``prev``."""
        step = round(self.repeat_every * PTS_HZ)
        i = 1
        while (goal := base + i * step) < splice_u:
            best = next(
                (
                    k
                    for k in range(x - 1, prev, -1)
                    if frames[k].upts <= goal and frames[k].upts < splice_u
                ),
                None,
            )
            if best is not None:
                prev = self._send(p, frames, best, section, floor=prev)
            i += 1

    def _late_reason(self, p: Placement, target: int, splice_u: int) -> str:
        zero = self._video.zero_upts
        reason = (
            f"pre-roll {p.preroll:.3f} s, less than the {self.preroll:g} s asked: the "
            "stream does not reach back that far before its splice point"
        )
        if target < zero:
            reason += (
                f" (asked for {(target - zero) / PTS_HZ:.3f} s, before the "
                f"stream's first frame: spliced at "
                f"{(splice_u - zero) / PTS_HZ:.3f} s instead)"
            )
        return reason

    def _send(
        self,
        p: Placement,
        frames: list[Frame],
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
            released = self._hold.released_upts
            p.arrivals.append(None if released is None else released % PTS_WRAP)
        return cand

    def _null_in_gap(self, frames: list[Frame], k: int, section: bytes) -> bool:
        """Put ``section`` in a free null packet of the gap after frame ``k``, if it has one."""
        nxt = frames[k + 1]
        lo_seg = frames[k].seg if k >= 0 else self._hold.first_segment()
        lo_row = frames[k].row + 1 if k >= 0 else 0
        for serial in range(lo_seg.serial, nxt.seg.serial + 1):
            seg = self._hold.segment_at(serial)
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
