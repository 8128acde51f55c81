"""Cue plans: how an ``AdBreak`` becomes the exact ``Cue``s the injector sends.

``splice_insert``: an out-cue at the break start (break_duration, auto_return, avail
numbering, an avail_descriptor when the break has a provider_avail_id) and an in-cue at
start + duration with the same splice_event_id.

``time_signal:<pairs>``: a time_signal at the start carrying each pair's start segmentation
descriptor (with segmentation_duration and UPID), and one at the end carrying each pair's end
descriptor, with the same segmentation_event_id per pair.

Event ids come from an ``EventIdSource``: ids the break names are claimed, the rest allocated,
so they never repeat within a stream.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from scte35lab.clock import PTS_WRAP
from scte35lab.cue import AvailDescriptor, Cue, SegmentationDescriptor
from scte35lab.schedule.errors import ScheduleError
from scte35lab.schedule.eventids import EventIdAllocator, EventIdSource
from scte35lab.schedule.planspec import SEGMENTATION_PAIRS, normalize_plan_spec, parse_plan_spec
from scte35lab.schedule.shapes import BreakShape, ScheduleShape
from scte35lab.schedule.streamclock import StreamClock
from scte35lab.schedule.timecode import seconds_to_ticks

__all__ = [
    "CuePlan",
    "EventIdAllocator",
    "PlannedCue",
    "SpliceInsertPlan",
    "TimeSignalPlan",
    "plan_for",
    "plan_schedule",
    "planned_frame",
    "planned_ids",
]

# UPID types whose value is text (SCTE 35 Table 22): Ad-ID, ISCI, TID, ADI, ADS, URI, SCR.
_TEXT_UPIDS = frozenset({0x02, 0x03, 0x07, 0x09, 0x0E, 0x0F, 0x11})


@dataclass(frozen=True)
class PlannedCue:
    """One cue of a plan: the ``Cue``, when it splices, and which break and side it is.

    ``splice_time`` is seconds from stream time zero. ``splice_pts`` is the absolute splice
    PTS once the plan is mapped to a stream clock, else ``None`` (the cue's pts_time then
    counts ticks from time zero; ``mapped(clock)`` moves it onto the stream).
    """

    cue: Cue
    splice_time: float
    splice_pts: int | None
    cue_id: str
    role: str
    break_index: int
    plan: str

    @property
    def event_ids(self) -> tuple[int, ...]:
        """The splice_event_id, or the segmentation_event_ids, this cue carries."""
        if self.cue.splice_event_id is not None:
            return (self.cue.splice_event_id,)
        return tuple(d.segmentation_event_id for d in self.cue.segmentation_descriptors)

    def mapped(self, clock: StreamClock) -> PlannedCue:
        """This cue with its splice time moved onto ``clock``'s PTS timeline."""
        pts = clock.pts(self.splice_time)
        return replace(self, cue=self.cue.with_splice_time(pts), splice_pts=pts)

    def __repr__(self) -> str:
        where = "" if self.splice_pts is None else f" pts={self.splice_pts}"
        return (
            f"PlannedCue({self.cue_id!r} {self.role} at {self.splice_time:g}s{where}: {self.cue!r})"
        )


def _splice_pts(seconds: float, clock: StreamClock | None) -> tuple[int, int | None]:
    """(pts_time for the cue, splice_pts or None)."""
    if clock is None:
        return seconds_to_ticks(seconds) % PTS_WRAP, None
    pts = clock.pts(seconds)
    return pts, pts


def upid_value(upid_type: int, text: str) -> Any:
    """The value a ``SegmentationDescriptor`` takes for ``text`` as UPID type ``upid_type``.

    Text types stay text; TI (0x08) is an int (``0x...`` or decimal); UUID (0x10) a UUID
    string; any other type is ``0x``-prefixed hex of its bytes.
    """
    try:
        if upid_type in _TEXT_UPIDS:
            return text
        if upid_type == 0x08:
            return int(text, 0)
        if upid_type == 0x10:
            return uuid.UUID(text).bytes
        if text.lower().startswith("0x"):
            return bytes.fromhex(text[2:])
    except ValueError as exc:
        raise ScheduleError(
            f"UPID {text!r} does not fit type 0x{upid_type:02X}: {exc}", field="upid"
        ) from exc
    raise ScheduleError(
        f"UPID type 0x{upid_type:02X} is not text: give its bytes as 0x-hex", field="upid"
    )


@dataclass(frozen=True)
class _Numbering:
    index: int
    count: int

    def avail(self, brk: BreakShape) -> tuple[int, int]:
        """(avail_num, avails_expected): the break's own, else its place in the schedule."""
        if brk.avail_num is not None or brk.avails_expected is not None:
            return brk.avail_num or 0, brk.avails_expected or 0
        if self.count > 0xFF:
            return 0, 0  # more breaks than 8 bits can count: numbering "not used"
        return self.index + 1, self.count


class CuePlan(ABC):
    """Base of the plans; ``spec`` is the plan's name as stored (``"splice_insert"``, ...)."""

    @property
    @abstractmethod
    def spec(self) -> str:
        """The plan's name, as ``plan_for`` reads it."""

    @abstractmethod
    def cues_for(
        self,
        brk: BreakShape,
        *,
        allocator: EventIdSource,
        clock: StreamClock | None = None,
        index: int = 0,
        count: int = 1,
    ) -> list[PlannedCue]:
        """The out- and in-cue(s) for ``brk``, the ``index``-th of ``count`` breaks."""


def _splice_owner(brk: BreakShape) -> str:
    return f"{brk.cue_id}/splice"


def _segmentation_owner(brk: BreakShape, pair_index: int, pair: str) -> str:
    return f"{brk.cue_id}/seg" if pair_index == 0 else f"{brk.cue_id}/seg/{pair}"


def claim_break_ids(brk: BreakShape, allocator: EventIdSource) -> None:
    """Claim the event ids ``brk`` names itself (whatever its plan uses), so none is
    allocated to another break."""
    if brk.splice_event_id is not None:
        allocator.claim(brk.splice_event_id, _splice_owner(brk))
    if brk.segmentation_event_id is not None:
        allocator.claim(brk.segmentation_event_id, f"{brk.cue_id}/seg")


@dataclass(frozen=True)
class SpliceInsertPlan(CuePlan):
    """splice_insert out (break_duration, auto_return) at the start, in at the end."""

    unique_program_id: int = 0

    @property
    def spec(self) -> str:
        return "splice_insert"

    def cues_for(
        self,
        brk: BreakShape,
        *,
        allocator: EventIdSource,
        clock: StreamClock | None = None,
        index: int = 0,
        count: int = 1,
    ) -> list[PlannedCue]:
        owner = _splice_owner(brk)
        if brk.splice_event_id is not None:
            event_id = allocator.claim(brk.splice_event_id, owner)
        else:
            event_id = allocator.allocate(owner)
        avail_num, avails_expected = _Numbering(index, count).avail(brk)
        descriptors = (
            [AvailDescriptor(provider_avail_id=brk.provider_avail_id)]
            if brk.provider_avail_id is not None
            else []
        )
        out_pts, out_splice = _splice_pts(brk.start, clock)
        in_pts, in_splice = _splice_pts(brk.end, clock)
        out_cue = Cue.splice_insert(
            event_id,
            out_of_network=True,
            pts_time=out_pts,
            break_duration=seconds_to_ticks(brk.duration),
            auto_return=brk.auto_return,
            unique_program_id=self.unique_program_id,
            avail_num=avail_num,
            avails_expected=avails_expected,
            descriptors=descriptors,
        )
        in_cue = Cue.splice_insert(
            event_id,
            out_of_network=False,
            pts_time=in_pts,
            unique_program_id=self.unique_program_id,
            avail_num=avail_num,
            avails_expected=avails_expected,
        )
        return [
            PlannedCue(out_cue, brk.start, out_splice, brk.cue_id, "out", index, self.spec),
            PlannedCue(in_cue, brk.end, in_splice, brk.cue_id, "in", index, self.spec),
        ]


@dataclass(frozen=True)
class TimeSignalPlan(CuePlan):
    """time_signal cues with one segmentation descriptor per pair at the start and the end."""

    pairs: tuple[str, ...] = ("provider_po",)

    def __post_init__(self) -> None:
        spec = normalize_plan_spec("time_signal:" + "+".join(self.pairs))
        object.__setattr__(self, "pairs", parse_plan_spec(spec)[1])

    @property
    def spec(self) -> str:
        return "time_signal:" + "+".join(self.pairs)

    def cues_for(
        self,
        brk: BreakShape,
        *,
        allocator: EventIdSource,
        clock: StreamClock | None = None,
        index: int = 0,
        count: int = 1,
    ) -> list[PlannedCue]:
        num, expected = _Numbering(index, count).avail(brk)
        upid_type = brk.upid_type or 0
        upid = None if brk.upid is None else upid_value(upid_type, brk.upid)
        starts, ends = [], []
        for i, pair in enumerate(self.pairs):
            owner = _segmentation_owner(brk, i, pair)
            if i == 0 and brk.segmentation_event_id is not None:
                event_id = allocator.claim(brk.segmentation_event_id, owner)
            else:
                event_id = allocator.allocate(owner)
            start_type, end_type = SEGMENTATION_PAIRS[pair]
            for type_id, out, duration in (
                (start_type, starts, seconds_to_ticks(brk.duration)),
                (end_type, ends, None),
            ):
                sub = (0, 0) if type_id in (0x34, 0x36) else (None, None)
                out.append(
                    SegmentationDescriptor(
                        segmentation_event_id=event_id,
                        segmentation_type_id=type_id,
                        segmentation_duration=duration,
                        segmentation_upid_type=upid_type,
                        segmentation_upid=upid,
                        segment_num=num,
                        segments_expected=expected,
                        sub_segment_num=sub[0],
                        sub_segments_expected=sub[1],
                    )
                )
        out_pts, out_splice = _splice_pts(brk.start, clock)
        in_pts, in_splice = _splice_pts(brk.end, clock)
        return [
            PlannedCue(
                Cue.time_signal(out_pts, starts),
                brk.start,
                out_splice,
                brk.cue_id,
                "out",
                index,
                self.spec,
            ),
            PlannedCue(
                Cue.time_signal(in_pts, ends),
                brk.end,
                in_splice,
                brk.cue_id,
                "in",
                index,
                self.spec,
            ),
        ]


def plan_for(spec: str | CuePlan) -> CuePlan:
    """The plan named by ``spec`` (``"splice_insert"``, ``"time_signal:break+provider_po"``)."""
    if isinstance(spec, CuePlan):
        return spec
    kind, pairs = parse_plan_spec(spec)
    if kind == "splice_insert":
        return SpliceInsertPlan()
    return TimeSignalPlan(pairs)


def plan_schedule(
    schedule: ScheduleShape,
    *,
    allocator: EventIdSource | None = None,
    clock: StreamClock | None = None,
    validate: bool = True,
) -> list[PlannedCue]:
    """Every cue of ``schedule``, ordered by splice time (an in before an out at one time).

    Each break uses its own plan or the schedule's. Ids the breaks name are claimed before
    any is allocated. An invalid schedule raises ``ScheduleValidationError`` unless
    ``validate=False``. Without ``allocator`` ids come from a fresh one starting at 1.
    """
    if validate:
        schedule.check()
    if allocator is None:
        allocator = EventIdAllocator()
    plans = [plan_for(b.plan or schedule.plan) for b in schedule]
    for brk in schedule:
        claim_break_ids(brk, allocator)
    planned: list[PlannedCue] = []
    count = len(schedule)
    for index, (brk, plan) in enumerate(zip(schedule, plans, strict=True)):
        planned.extend(
            plan.cues_for(brk, allocator=allocator, clock=clock, index=index, count=count)
        )
    planned.sort(key=lambda p: (p.splice_time, p.role != "in", p.break_index))
    return planned


def planned_ids(planned: list[PlannedCue]) -> dict[str, dict[str, int | None]]:
    """Per ``cue_id``: the splice_event_id and (first) segmentation_event_id its cues carry.

    ``Store.plan`` writes these back on the breaks so a re-plan keeps each break's ids.
    """
    out: dict[str, dict[str, int | None]] = {}
    for p in planned:
        if p.role != "out":
            continue
        segs = p.cue.segmentation_descriptors
        out[p.cue_id] = {
            "splice_event_id": p.cue.splice_event_id,
            "segmentation_event_id": segs[0].segmentation_event_id if segs else None,
        }
    return out


def planned_frame(planned: list[PlannedCue]) -> pd.DataFrame:
    """One row per planned cue: break, side, times, ids, and the section as hex and base64."""
    rows: list[Mapping[str, Any]] = []
    for p in planned:
        segs = p.cue.segmentation_descriptors
        rows.append(
            {
                "cue_id": p.cue_id,
                "break_index": p.break_index,
                "role": p.role,
                "plan": p.plan,
                "command": p.cue.command_name,
                "splice_time": p.splice_time,
                "pts_time": p.cue.pts_time,
                "splice_pts": p.splice_pts,
                "splice_event_id": p.cue.splice_event_id,
                "segmentation_event_ids": ",".join(str(d.segmentation_event_id) for d in segs),
                "segmentation_type_ids": ",".join(f"0x{d.segmentation_type_id:02X}" for d in segs),
                "base64": p.cue.to_base64(),
                "hex": p.cue.to_hex(),
            }
        )
    df = pd.DataFrame(
        rows,
        columns=[
            "cue_id",
            "break_index",
            "role",
            "plan",
            "command",
            "splice_time",
            "pts_time",
            "splice_pts",
            "splice_event_id",
            "segmentation_event_ids",
            "segmentation_type_ids",
            "base64",
            "hex",
        ],
    )
    for col in ("pts_time", "splice_pts", "splice_event_id"):
        df[col] = df[col].astype("Int64")
    df["break_index"] = df["break_index"].astype("int64")
    df["splice_time"] = df["splice_time"].astype("float64")
    return df
