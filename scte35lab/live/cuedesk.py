"""The cues of one live stream: its clock, its schedule planned on it, the cues asked for
while live, and what is said and stored of each (``cue_moved``, ``cue_delivered``, ...).

Stream time zero is the first video PTS the pipeline saw. When a publisher comes back, the
clock is mapped onto its new PTS so that stream time goes on counting; cues still waiting
for it are handed to the new ingest's injector, and a cue whose splice point passed while the
input was away was already settled ``missed`` at that moment (see ``due_while_away``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scte35lab.clock import PTS_HZ as CLOCK
from scte35lab.clock import PTS_WRAP
from scte35lab.cue import TICKS_PER_SECOND, Cue
from scte35lab.errors import ComponentError
from scte35lab.live.ledger import CueLedger, CueRecord
from scte35lab.schedule import AdBreak, EventIdAllocator, Schedule, Store, StreamClock
from scte35lab.ts.inject import Placement

log = logging.getLogger(__name__)

AddCue = Callable[..., Placement]  # (cue, *, pts, immediate, label) -> Placement
LOSS_LEAD_S = 0.5  # a cue due while the input is away is settled this much before its time


class CueDesk:
    """See the module docstring. ``add(cue, pts=, immediate=, label=)`` hands a cue to the
    current injector; ``newest_pts()`` is the newest frame an on-demand splice can follow."""

    def __init__(
        self,
        stream: str,
        *,
        store: Store | None,
        schedule: Schedule | str | os.PathLike[str] | None,
        preroll: float,
        ledger: CueLedger,
        on_event: Callable[..., None],
        add: AddCue,
        cancel: Callable[[Placement], bool],
        force_idr: Callable[[int], None],
        newest_pts: Callable[[], int | None],
    ) -> None:
        self.stream = stream
        self.store = store
        self._schedule_arg = schedule
        self.schedule: Schedule | None = None
        self.preroll = preroll
        self.ledger = ledger
        self._event = on_event
        self._add_to_injector = add
        self._cancel_in_injector = cancel
        self._force_idr = force_idr
        self._newest_pts = newest_pts
        self.clock: StreamClock | None = None
        self.zero_mono: float | None = None  # monotonic time of stream time zero
        self.input_away_since: float | None = None  # monotonic: the ingest ended
        self.splice_on_slate = False  # transcode: a cue due in a loss splices on the slate
        self._event_ids: Any = None
        self._open_break: tuple[int, str] | None = None  # (splice_event_id, cue_id)
        self._ondemand = 0

    # -- the schedule and the clock ------------------------------------------------------
    def load(self) -> None:
        """Read the schedule (a Schedule, a CSV/JSON file, or the store's) and check it."""
        sched = self._schedule_arg
        if isinstance(sched, str | os.PathLike):
            path = Path(sched)
            sched = (
                Schedule.from_json(path)
                if path.suffix.lower() == ".json"
                else Schedule.from_csv(path)
            )
        if sched is None and self.store is not None:
            with contextlib.suppress(Exception):
                stored = self.store.schedule(self.stream)
                sched = stored if len(stored) else None
        if sched is not None:
            sched.check()
        self.schedule = sched
        if self.store is not None:
            self._event_ids = self.store.event_ids(self.stream)
            self._ondemand = _last_ondemand(self.store.markers(self.stream))
        else:
            self._event_ids = EventIdAllocator()

    def _planned(self) -> list[Any]:
        assert self.schedule is not None and self.clock is not None
        if self.store is not None:
            return self.store.plan(self.stream, self.schedule, clock=self.clock)
        return self.schedule.cues(allocator=self._event_ids, clock=self.clock)

    def start_clock(self, first_pts: int) -> None:
        """The first video: stream time zero. The schedule is planned on it."""
        self.clock = StreamClock(first_pts, datetime.now(UTC))
        self.zero_mono = time.monotonic()
        if self.store is not None:
            with contextlib.suppress(Exception):
                self.store.start_stream(self.stream, first_pts=first_pts)
        self._event("clock", f"stream time zero is PTS {first_pts}", first_pts=first_pts)
        if self.schedule is None:
            return
        planned = self._planned()
        for pc in planned:
            self.add(pc.cue, pts=pc.splice_pts, cue_id=pc.cue_id, role=pc.role)
        self._event("schedule", f"{len(planned)} scheduled cue(s) handed to the injector")

    def resume(self, first_pts: int) -> None:
        """A returning publisher's first video: map stream time onto its PTS and hand the
        waiting cues whose splice points are still ahead to its injector."""
        assert self.clock is not None and self.clock.started_at is not None
        now_s = self.now()
        shifted = (first_pts - round(now_s * CLOCK)) % PTS_WRAP
        old_clock, self.clock = self.clock, StreamClock(shifted, self.clock.started_at)
        self.input_away_since = None
        if self.store is not None:
            with contextlib.suppress(Exception):
                self.store.start_stream(self.stream, first_pts=shifted, at=self.clock.started_at)
        self._event(
            "ingest_resumed",
            f"publisher back at stream time {now_s:.1f} s: schedule mapped onto PTS {first_pts}",
            first_pts=first_pts,
            stream_time=now_s,
        )
        with self.ledger.lock:
            waiting = [r for r in self.ledger.records if r.status == "pending" and not r.copies]
            for r in waiting:
                self.ledger.records.remove(r)
        for r in waiting:  # (transcode mode goes on with the same injector: withdraw them)
            self._cancel_in_injector(r.placement)
        by_key = {(pc.cue_id, pc.role): pc for pc in self._planned()} if self.schedule else {}
        again = 0
        for r in waiting:
            pc = by_key.pop((r.cue_id, r.role), None)
            if pc is not None:
                pts, cue, t = pc.splice_pts, pc.cue, pc.splice_time
            else:  # asked for while live: the same stream time on the new clock
                t = old_clock.seconds(r.requested_pts or 0, near=now_s)
                pts = self.clock.pts(t)
                cue = r.cue.with_splice_time((pts - r.cue.pts_adjustment) % PTS_WRAP)
            if t <= now_s:
                r.status, r.error = "missed", "its splice point came while the input was away"
                self.ledger.add(r)
                self.settled(r)
                continue
            self.add(cue, pts=pts, cue_id=r.cue_id, role=r.role)
            again += 1
        done = {(r.cue_id, r.role) for r in self.ledger.records}
        for pc in by_key.values():
            if pc.splice_time >= now_s + self.preroll and (pc.cue_id, pc.role) not in done:
                self.add(pc.cue, pts=pc.splice_pts, cue_id=pc.cue_id, role=pc.role)
                again += 1
        self._event("schedule", f"{again} waiting cue(s) handed to the new ingest's injector")

    def due_while_away(self, rec: CueRecord) -> bool:
        """While the input is away: has the cue's splice point come in wall-clock time (half
        a second ahead)? No returning input can reach it then, and in transcode mode it is
        withdrawn before the injector could splice it on the loss frames."""
        if self.input_away_since is None or self.clock is None or self.splice_on_slate:
            return False
        pts = rec.splice_pts if rec.splice_pts is not None else rec.requested_pts
        if pts is None or self.clock.started_at is None:
            return False
        now_s = self.now()
        return now_s >= self.clock.seconds(pts, near=now_s) - LOSS_LEAD_S

    def now(self) -> float:
        """Seconds of stream time now: the monotonic clock since time zero, so a wall clock
        stepped by NTP mid-stream moves no splice point (the wall clock only labels them)."""
        if self.zero_mono is None:
            return 0.0
        return time.monotonic() - self.zero_mono

    def stream_time(self, pts: int | None) -> str:
        """``pts`` as stream time, ``hh:mm:ss.mmm`` (``-`` without a clock)."""
        if pts is None or self.clock is None:
            return "-"
        t = self.clock.seconds(pts, near=self.now())
        return f"{int(t // 3600):02d}:{int(t % 3600 // 60):02d}:{t % 60:06.3f}"

    # -- cues in -------------------------------------------------------------------------
    def add(
        self,
        cue: Cue,
        *,
        pts: int | None = None,
        immediate: bool = False,
        cue_id: str | None = None,
        role: str | None = None,
    ) -> CueRecord:
        """Hand ``cue`` to the injector and follow it in the ledger."""
        label = "/".join(x for x in (cue_id, role) if x) or None
        placement = self._add_to_injector(cue, pts=pts, immediate=immediate, label=label)
        rec = self.ledger.add(CueRecord(placement, cue_id, role))
        if pts is not None:
            self._force_idr(pts)  # transcode: the splice point gets an IDR of its own
        return rec

    def next_splice_pts(self) -> int:
        """The earliest splice point an on-demand cue can take: just after the newest frame
        in (the injector holds the pre-roll, so the cue still arrives in time; in transcode
        mode the IDR is forced at the next frame); the injector moves it to the IDR at or
        after it."""
        if self.input_away_since is not None:
            away = time.monotonic() - self.input_away_since
            raise ComponentError(
                f"pipeline {self.stream!r}: the input has been away for {away:.0f} s, so there "
                "is no video to splice on; an on-demand cue waits for the publisher's return"
            )
        last = self._newest_pts()
        if last is None:
            raise ComponentError(
                f"pipeline {self.stream!r} has no video yet: cannot place an on-demand cue"
            )
        return (last + 9000) % PTS_WRAP  # 0.1 s on

    def cue_out(self, duration: float = 30.0, *, auto_return: bool = True) -> CueRecord:
        """Start an ad break now: a splice_insert out at the next IDR past the pre-roll."""
        if self._event_ids is None:
            raise ComponentError(f"pipeline {self.stream!r} is not started: start() it first")
        pts = self.next_splice_pts()
        self._ondemand += 1
        cue_id = f"ondemand-{self._ondemand}"
        event_id = self._event_ids.allocate(f"{cue_id}/splice")
        cue = Cue.splice_insert(
            event_id,
            out_of_network=True,
            pts_time=pts,
            break_duration=round(duration * TICKS_PER_SECOND),
            auto_return=auto_return,
        )
        self._open_break = (event_id, cue_id)
        rec = self.add(cue, pts=pts, cue_id=cue_id, role="out")
        self._event("cue_requested", f"cue_out {cue_id} ({duration:g} s) requested", cue_id=cue_id)
        self._record_break(cue_id, pts, duration, event_id, auto_return)
        return rec

    def _record_break(
        self, cue_id: str, pts: int, duration: float, event_id: int, auto_return: bool
    ) -> None:
        """An on-demand break gets its ad_markers row (origin 'on_demand'), which its cue's
        log entry marks inserted once it is delivered, as for scheduled breaks."""
        if self.store is None or self.clock is None:
            return
        brk = AdBreak(
            start=max(0.0, self.clock.seconds(pts, near=self.now())),
            duration=duration,
            cue_id=cue_id,
            splice_event_id=event_id,
            auto_return=auto_return,
            plan="splice_insert",
            notes="called while live (cue_out)",
        )
        try:
            self.store.add_marker(self.stream, brk)
        except Exception as exc:
            log.exception("pipeline %s: storing the on-demand break failed", self.stream)
            self._event("error", f"on-demand break {cue_id} not stored: {exc}")

    def cue_in(self) -> CueRecord:
        """End the open ad break now (a splice_insert in at the next IDR past the pre-roll)."""
        if self._open_break is None:
            raise ComponentError("cue_in: no ad break is open (call cue_out first)")
        event_id, cue_id = self._open_break
        pts = self.next_splice_pts()
        cue = Cue.splice_insert(event_id, out_of_network=False, pts_time=pts)
        self._open_break = None
        rec = self.add(cue, pts=pts, cue_id=cue_id, role="in")
        self._event("cue_requested", f"cue_in {cue_id} requested", cue_id=cue_id)
        return rec

    def send(self, cue: Cue | bytes | str, *, cue_id: str | None = None) -> CueRecord:
        """Send any cue: one with a splice time splices at that PTS (moved to the IDR at or
        after it); one without (splice_immediate) splices at the next IDR past the pre-roll."""
        if not isinstance(cue, Cue):
            cue = Cue.decode(cue)
        pts = cue.splice_point
        role = {True: "out", False: "in"}.get(cue.out_of_network_indicator)  # type: ignore[arg-type]
        if pts is None:
            pts = self.next_splice_pts()
            cue = cue.with_splice_time((pts - cue.pts_adjustment) % PTS_WRAP)
        return self.add(cue, pts=pts, cue_id=cue_id, role=role)

    def cancel(self, cue_id: str) -> list[CueRecord]:
        """Withdraw the cues of ``cue_id`` still to go out; they end ``cancelled``. A
        splice_insert whose copies already went out is cancelled on the wire too (a
        splice_insert with splice_event_cancel_indicator, sent at once)."""
        found = [r for r in self.ledger.records if r.cue_id == cue_id and not r.final]
        if not found:
            raise ComponentError(f"no cue {cue_id!r} is on its way out: nothing to cancel")
        for rec in found:
            withdrawn = self._cancel_in_injector(rec.placement)
            if not withdrawn and rec.cue.splice_event_id is not None:
                self.add(Cue.splice_insert_cancel(rec.cue.splice_event_id), immediate=True)
            with self.ledger.lock:
                if rec.final:
                    continue
                rec.status, rec.error = "cancelled", "cancelled by the operator"
            self.settled(rec)
        if self._open_break is not None and self._open_break[1] == cue_id:
            self._open_break = None
        return found

    # -- what is said and stored ---------------------------------------------------------
    def placed(self, rec: CueRecord) -> None:
        """The cue's first copy is in the output; a splice moved to the next IDR is said."""
        shift = rec.shift
        if shift is None or abs(shift) < 0.5 / CLOCK:
            return
        self._event(
            "cue_moved",
            f"cue {rec.label()}: asked for {self.stream_time(rec.requested_pts)}, splices at "
            f"{self.stream_time(rec.splice_pts)} ({shift:+.3f} s): the next IDR frame",
            cue_id=rec.cue_id,
            role=rec.role,
            requested_pts=rec.requested_pts,
            splice_pts=rec.splice_pts,
            shift=shift,
        )

    def settled(self, rec: CueRecord) -> None:
        """Say and store what became of a cue (one settled missed before it was placed is
        withdrawn from the injector: what is said missed never goes out)."""
        rec.settled_at = time.time()
        if rec.status == "missed" and rec.placement.status == "pending":
            self._cancel_in_injector(rec.placement)
        pre = "" if rec.preroll is None else f", pre-roll {rec.preroll:.3f} s"
        how = {
            "delivered": "delivered: the distributor acknowledged it",
            "written": "written",
        }.get(rec.status, rec.status)
        where = (
            f"splice {self.stream_time(rec.splice_pts)} (PTS {rec.splice_pts})"
            if rec.splice_pts is not None
            else f"asked for {self.stream_time(rec.requested_pts)}"
        )
        self._event(
            f"cue_{rec.status}",
            f"cue {rec.label()} {where}: {how}{pre}" + (f": {rec.error}" if rec.error else ""),
            cue_id=rec.cue_id,
            role=rec.role,
            splice_pts=rec.splice_pts,
            requested_pts=rec.requested_pts,
            state=rec.status,
            preroll=rec.preroll,
        )
        if self.store is None:
            return
        try:
            self.store.log_cue(
                self.stream,
                rec.cue,
                cue_id=rec.cue_id,
                role=rec.role,
                state=rec.status,
                error=rec.error,
                splice_pts=rec.splice_pts,
                preroll=rec.preroll,
                requested_pts=rec.requested_pts,
            )
        except Exception:
            log.exception("pipeline %s: logging cue failed", self.stream)

    def frame(self) -> Any:
        """Every cue so far, one row each: its state, the pre-roll of the copy that counted,
        the splice point as stream time and, for a splice moved to the next IDR, by how much
        (``moved``)."""
        with self.ledger.lock:
            recs = list(self.ledger.records)
        df = self.ledger.frame(recs)
        df.insert(2, "splice_time", [self.stream_time(r.splice_pts) for r in recs])
        df["moved"] = [
            "" if r.shift is None or abs(r.shift) < 1e-6 else f"{r.shift:+.3f} s" for r in recs
        ]
        return df


def _last_ondemand(markers: Any) -> int:
    """The highest N of the stream's stored ``ondemand-N`` breaks (earlier runs'), so a new
    run's on-demand breaks never take over their markers."""
    ids = markers.loc[markers["origin"] == "on_demand", "cue_id"]
    found = [int(m.group(1)) for c in ids if (m := re.fullmatch(r"ondemand-(\d+)", str(c)))]
    return max(found, default=0)
