"""What became of every live cue, and the evidence for it.

A cue's copies are found in the output as it goes to the SRT output stage, each with where
it ends in the output and which sender connection took it. The output stage then tells,
copy by copy, what the receiver did with it. A cue ends in exactly one state:

- ``delivered``: the receiver acknowledged a copy whose pre-roll (its splice point minus
  the PTS of the last video frame before it, as the timing rules define arrival) is at least
  the pre-roll asked for. SRT delivers with a fixed latency, so that is the pre-roll the
  distributor sees.
- ``late``: the first copy acknowledged had less pre-roll (the ones before it were lost).
- ``unconfirmed``: copies were written, then the connection died before any was
  acknowledged: each may or may not have arrived.
- ``written``: handed to a sender that cannot see acknowledgements (``srt-live-transmit``,
  FFmpeg): nothing is known of its arrival.
- ``missed``: no copy reached a sender before the splice point (the peer was away, the input
  was away, or the stream ended first), or its copies were acknowledged only afterwards.
- ``cancelled``: withdrawn before it went out (``Pipeline.cancel``, or the pipeline stopped
  before its splice point).

While on the way a cue is ``pending`` (not placed yet), ``placed`` (in the output) or
``awaiting_ack`` (written, no acknowledgement yet).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scte35lab.clock import PTS_HZ as CLOCK
from scte35lab.clock import pts_diff
from scte35lab.cue import Cue
from scte35lab.ts.inject import Placement
from scte35lab.ts.sections import SectionAssembler

FINAL_STATES = ("delivered", "late", "unconfirmed", "written", "missed", "cancelled")
# a copy's pre-roll is compared with the one asked for to the nearest 90 kHz tick
_PREROLL_EPS = 1 / CLOCK

Delivery = Callable[["Copy"], tuple[str, float | None]]


@dataclass
class Copy:
    """One copy of a cue in the output: ``end`` is the output offset just past its last
    packet, ``gen`` the sender connection that took it (``None``: not handed to any)."""

    end: int
    gen: int | None
    preroll: float | None  # seconds before the splice point; None: sent before any video


@dataclass
class CueRecord:
    """One cue on its way out; ``status`` is its state (see the module docstring)."""

    placement: Placement
    cue_id: str | None
    role: str | None
    status: str = "pending"
    copies: list[Copy] = field(default_factory=list)
    section: bytes | None = None
    error: str | None = None
    preroll: float | None = None  # pre-roll of the copy that counted
    acked_at: float | None = None  # monotonic time its acknowledgement was seen
    settled_at: float | None = None  # Unix time it reached its final state

    @property
    def cue(self) -> Cue:
        return self.placement.cue or self.placement.request.cue

    @property
    def splice_pts(self) -> int | None:
        return self.placement.splice_pts

    @property
    def requested_pts(self) -> int | None:
        return self.placement.requested_pts

    @property
    def shift(self) -> float | None:
        """Seconds the splice point moved from where it was asked for (to the next IDR)."""
        if self.splice_pts is None or self.requested_pts is None:
            return None
        return pts_diff(self.splice_pts, self.requested_pts) / CLOCK

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATES

    def label(self) -> str:
        return f"{self.cue_id or '-'}{'/' + self.role if self.role else ''}"


class CueLedger:
    """The live cues of one pipeline: finds their copies in the output and settles each in
    its final state from the output stage's evidence (see the module docstring)."""

    def __init__(
        self,
        preroll: float,
        *,
        on_placed: Callable[[CueRecord], None],
        on_settled: Callable[[CueRecord], None],
    ) -> None:
        self.preroll = preroll
        self.records: list[CueRecord] = []
        self._on_placed = on_placed
        self._on_settled = on_settled
        self._sections = SectionAssembler()
        self.lock = threading.RLock()

    def add(self, rec: CueRecord) -> CueRecord:
        with self.lock:
            self.records.append(rec)
        return rec

    def new_input(self) -> None:
        """A new ingest: a section cut by the old one's end is not finished by the new."""
        self._sections = SectionAssembler()

    # -- copies in the output --------------------------------------------------------------
    def watch(self, out: bytes, base: int, pid: int | None, handed: Callable[[int], int | None]):
        """Find the SCTE-35 sections on ``pid`` in ``out`` (which starts at output offset
        ``base``) and note each copy; ``handed(end)`` names the connection that took it."""
        if pid is None or not out:
            return
        n = len(out) - len(out) % 188
        a = np.frombuffer(out, dtype=np.uint8, count=n).reshape(-1, 188)
        hits = np.flatnonzero((((a[:, 1].astype(np.uint16) & 0x1F) << 8) | a[:, 2]) == pid)
        for off in (hits * 188).tolist():
            pkt = out[off : off + 188]
            afc = (pkt[3] >> 4) & 3
            if not afc & 1:
                continue
            start = 4 + (1 + pkt[4] if afc & 2 else 0)
            for section in self._sections.push(pkt[start:], bool(pkt[1] & 0x40)):
                self._copy(section, base + off + 188, handed)

    def _copy(self, section: bytes, end: int, handed: Callable[[int], int | None]) -> None:
        with self.lock:
            for rec in self.records:
                if rec.final:
                    continue
                if rec.section is None and rec.placement.cue is not None:
                    rec.section = rec.placement.cue.encode()
                if rec.section != section:
                    continue
                arrivals = rec.placement.arrivals
                k = len(rec.copies)
                arrival = arrivals[k] if k < len(arrivals) else None
                splice = rec.splice_pts
                pre = (
                    None if arrival is None or splice is None else pts_diff(splice, arrival) / CLOCK
                )
                rec.copies.append(Copy(end, handed(end), pre))
                if rec.status == "pending":
                    rec.status = "placed"
                    self._on_placed(rec)
                return

    # -- settling --------------------------------------------------------------------------
    def settle(
        self,
        delivery: Delivery,
        out_pts: int | None,
        *,
        input_due: Callable[[CueRecord], bool] | None = None,
        final: bool = False,
    ) -> None:
        """Settle every cue the evidence now decides.

        ``delivery(copy)`` is the output stage's word on one copy: ``acked`` (with the time
        it saw the acknowledgement), ``written``, ``pending``, ``unconfirmed`` or
        ``dropped``. ``out_pts`` is the newest video PTS written out: a cue whose splice
        point it passed gets no more copies. ``input_due(rec)`` is true when the input is
        away and the cue's splice point has passed in wall-clock time. ``final``: the
        pipeline has stopped, nothing more will come.
        """
        with self.lock:
            open_ = [r for r in self.records if not r.final]
        for rec in open_:
            outcome = self._judge(rec, delivery, out_pts, input_due, final)
            if outcome is None:
                continue
            status, error = outcome
            with self.lock:
                if rec.final:
                    continue
                rec.status, rec.error = status, error
            self._on_settled(rec)

    def _judge(
        self,
        rec: CueRecord,
        delivery: Delivery,
        out_pts: int | None,
        input_due: Callable[[CueRecord], bool] | None,
        final: bool,
    ) -> tuple[str, str | None] | None:
        passed = (
            rec.splice_pts is not None
            and out_pts is not None
            and pts_diff(out_pts, rec.splice_pts) >= 0
        )
        if not rec.copies:
            if rec.placement.status == "missed":
                return "missed", "not sent: the stream ended before its splice point"
            if rec.placement.status == "cancelled":
                return "cancelled", "withdrawn before it went out"
            if input_due is not None and input_due(rec):
                return "missed", "not sent: its splice point came while the input was away"
            if final:
                if passed:
                    return "missed", "not sent before its splice point"
                return "cancelled", "the pipeline stopped before the cue went out"
            if passed:
                return "missed", "not sent before its splice point"
            return None
        states = [delivery(c) for c in rec.copies]
        for copy, (state, t) in zip(rec.copies, states, strict=True):
            if state == "acked":
                return self._acked(rec, copy, t)
            if state == "written":
                rec.preroll = copy.preroll if copy.preroll is not None else rec.placement.preroll
                return "written", (
                    "handed to a sender that cannot see acknowledgements: its arrival is not known"
                )
        if any(s == "pending" for s, _ in states):
            rec.status = "awaiting_ack"
            if not final:
                return None
        if not (passed or final):
            return None  # copies still to come (the repeats until the splice point)
        if any(s in ("unconfirmed", "pending") for s, _ in states):
            return "unconfirmed", (
                "written, then the SRT connection died before the receiver acknowledged it: "
                "it may or may not have reached the distributor"
            )
        return "missed", "not sent: the SRT peer was away for every copy"

    def _acked(self, rec: CueRecord, copy: Copy, t: float | None) -> tuple[str, str | None]:
        pre = copy.preroll if copy.preroll is not None else rec.placement.preroll
        rec.preroll, rec.acked_at = pre, t
        if pre is None or pre + _PREROLL_EPS >= self.preroll:
            return "delivered", None
        if pre > 0:
            return "late", (
                f"acknowledged with {pre:.3f} s of pre-roll, under the {self.preroll:g} s "
                "asked for: the copies before it were lost"
            )
        return "missed", "acknowledged only after its splice point"

    def frame(self, records: list[CueRecord] | None = None) -> Any:
        """Every cue so far (or ``records``), one row each, as a DataFrame."""
        import pandas as pd

        with self.lock:
            recs = list(self.records) if records is None else records
        return pd.DataFrame(
            [
                {
                    "cue_id": r.cue_id,
                    "role": r.role,
                    "splice_pts": r.splice_pts,
                    "requested_pts": r.requested_pts,
                    "shift": r.shift,
                    "status": r.status,
                    "preroll": r.preroll,
                    "placement": r.placement.status,
                    "copies": len(r.copies),
                    "error": r.error,
                    "hex": r.cue.to_hex(),
                }
                for r in recs
            ],
            columns=[
                "cue_id",
                "role",
                "splice_pts",
                "requested_pts",
                "shift",
                "status",
                "preroll",
                "placement",
                "copies",
                "error",
                "hex",
            ],
        )
