"""Schedule rules and the checks that explain, in words, which breaks break which rule."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from scte35lab.schedule.errors import ScheduleError, ValidationIssue
from scte35lab.schedule.shapes import BreakShape
from scte35lab.schedule.timecode import format_time

RULES = (
    "before_stream",
    "after_stream",
    "too_short",
    "too_long",
    "overlap",
    "spacing",
    "duplicate_event_id",
)


@dataclass(frozen=True)
class ScheduleRules:
    """Bounds a schedule must keep; ``None`` turns a bound off. Seconds throughout.

    ``stream_duration`` (when known, e.g. for a file) makes breaks that end after the stream
    an error.
    """

    min_duration: float | None = None
    max_duration: float | None = None
    min_spacing: float = 0.0
    stream_duration: float | None = None

    def __post_init__(self) -> None:
        for name in ("min_duration", "max_duration", "min_spacing", "stream_duration"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int | float) or value < 0):
                raise ScheduleError(
                    f"{name} must be a non-negative number, not {value!r}", field=name
                )
        if (
            self.min_duration is not None
            and self.max_duration is not None
            and self.min_duration > self.max_duration
        ):
            raise ScheduleError(
                f"min_duration {self.min_duration:g} s is above max_duration "
                f"{self.max_duration:g} s",
                field="min_duration",
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for JSON."""
        return asdict(self)


def _label(b: BreakShape) -> str:
    return f"break {b.cue_id!r} ({format_time(b.start)} for {b.duration:g} s)"


def validate_breaks(breaks: Sequence[BreakShape], rules: ScheduleRules) -> list[ValidationIssue]:
    """Every rule ``breaks`` (sorted by start) violate under ``rules``, in rule order."""
    issues: list[ValidationIssue] = []
    for b in breaks:
        if b.start < 0:
            issues.append(
                ValidationIssue(
                    "before_stream",
                    f"{_label(b)} starts {-b.start:g} s before the stream (stream time zero is the "
                    "first video frame)",
                    (b.cue_id,),
                )
            )
        if rules.stream_duration is not None and b.end > rules.stream_duration:
            issues.append(
                ValidationIssue(
                    "after_stream",
                    f"{_label(b)} ends at {format_time(b.end)}, after the stream ends at "
                    f"{format_time(rules.stream_duration)}",
                    (b.cue_id,),
                )
            )
        if rules.min_duration is not None and b.duration < rules.min_duration:
            issues.append(
                ValidationIssue(
                    "too_short",
                    f"{_label(b)} is shorter than the minimum {rules.min_duration:g} s",
                    (b.cue_id,),
                )
            )
        if rules.max_duration is not None and b.duration > rules.max_duration:
            issues.append(
                ValidationIssue(
                    "too_long",
                    f"{_label(b)} is longer than the maximum {rules.max_duration:g} s",
                    (b.cue_id,),
                )
            )
    # Breaks come sorted by start, so a break that ended before one start cannot overlap any
    # later break: ``active`` holds only those still running, ``latest`` the one ending last.
    active: list[BreakShape] = []
    latest: BreakShape | None = None
    for cur in breaks:
        active = [p for p in active if p.end > cur.start]
        for prev in active:
            issues.append(
                ValidationIssue(
                    "overlap",
                    f"{_label(cur)} starts {prev.end - cur.start:g} s before {_label(prev)} "
                    f"ends at {format_time(prev.end)}",
                    (prev.cue_id, cur.cue_id),
                )
            )
        if not active and latest is not None and cur.start - latest.end < rules.min_spacing:
            issues.append(
                ValidationIssue(
                    "spacing",
                    f"{_label(cur)} starts {cur.start - latest.end:g} s after {_label(latest)} "
                    f"ends; the minimum spacing is {rules.min_spacing:g} s",
                    (latest.cue_id, cur.cue_id),
                )
            )
        active.append(cur)
        if latest is None or cur.end > latest.end:
            latest = cur
    # An event id may name one break only (splice and segmentation ids share one space here,
    # so the allocator can promise a single "never repeats within a stream").
    owners: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for b in breaks:
        for field_name in ("splice_event_id", "segmentation_event_id"):
            value = getattr(b, field_name)
            if value is not None:
                owners[value].append((b.cue_id, field_name))
    for event_id, users in sorted(owners.items()):
        if len({cue_id for cue_id, _ in users}) > 1:
            who = ", ".join(f"{cue_id!r} ({f})" for cue_id, f in users)
            issues.append(
                ValidationIssue(
                    "duplicate_event_id",
                    f"event id {event_id} is used by more than one break: {who}",
                    tuple(dict.fromkeys(cue_id for cue_id, _ in users)),
                )
            )
    order = {name: i for i, name in enumerate(RULES)}
    issues.sort(key=lambda i: order[i.rule])
    return issues
