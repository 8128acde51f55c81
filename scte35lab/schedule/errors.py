"""Errors of the schedule layer, all ``Scte35Error`` subclasses so callers catch one type."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scte35lab.errors import Scte35Error

if TYPE_CHECKING:
    from scte35lab.schedule.validation import ValidationIssue


class ScheduleError(Scte35Error):
    """An ad break, schedule, cue plan or timecode is wrong in a way we can name."""


class ScheduleValidationError(ScheduleError):
    """A schedule breaks one or more rules; ``issues`` lists every one, not just the first."""

    def __init__(self, issues: list[ValidationIssue]) -> None:
        self.issues = list(issues)
        lines = "\n".join(f"  - [{i.rule}] {i.message}" for i in self.issues)
        super().__init__(f"schedule has {len(self.issues)} problem(s):\n{lines}")


class EventIdError(ScheduleError):
    """An event id would repeat within a stream, or is outside 0..2**32-1."""


class StoreError(ScheduleError):
    """The SQLite store cannot do what was asked (unknown stream, newer schema, bad value)."""
