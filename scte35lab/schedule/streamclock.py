"""``StreamClock``: where a running stream's time zero is, on the PTS and wall-clock timelines.

Stream time zero is the PTS of the first video frame (DESIGN.md). The clock maps seconds from
there to PTS, ``(first_pts + round(seconds * 90000)) % 2**33``, and to wall-clock time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scte35lab.clock import PTS_HZ, PTS_WRAP
from scte35lab.errors import InvalidFieldError
from scte35lab.schedule.errors import ScheduleError
from scte35lab.schedule.timecode import seconds_to_ticks


@dataclass(frozen=True)
class StreamClock:
    """Where a running stream's time zero is: its first video PTS and, if known, wall time."""

    first_pts: int
    started_at: datetime | None = None

    def __post_init__(self) -> None:
        if isinstance(self.first_pts, bool) or not isinstance(self.first_pts, int):
            raise InvalidFieldError("first_pts must be an int of 90 kHz ticks", field="first_pts")
        if not 0 <= self.first_pts < PTS_WRAP:
            raise InvalidFieldError(
                f"first_pts {self.first_pts} is outside 0..2**33-1", field="first_pts"
            )
        if self.started_at is not None and self.started_at.tzinfo is None:
            raise InvalidFieldError(
                "started_at must be timezone-aware (e.g. datetime.now(UTC))", field="started_at"
            )

    def pts(self, seconds: float) -> int:
        """The PTS ``seconds`` after time zero, wrapped at 2**33."""
        return (self.first_pts + seconds_to_ticks(seconds)) % PTS_WRAP

    def seconds(self, pts: int, *, near: float = 0.0) -> float:
        """Seconds from time zero of ``pts``, unwrapped to the lap nearest ``near`` seconds."""
        delta = (pts - self.first_pts) % PTS_WRAP
        lap = PTS_WRAP / PTS_HZ
        base = delta / PTS_HZ
        return base + round((near - base) / lap) * lap

    def wall(self, seconds: float) -> datetime:
        """Wall-clock (UTC) time of ``seconds`` after time zero; needs ``started_at``."""
        if self.started_at is None:
            raise ScheduleError("this clock has no started_at, so it has no wall-clock time")
        return self.started_at + timedelta(seconds=seconds)
