"""Errors of the schedule layer, all ``Scte35Error`` subclasses so callers catch one type."""

from __future__ import annotations

from dataclasses import dataclass

from scte35lab.errors import Scte35Error


@dataclass(frozen=True)
class ValidationIssue:
    """One broken rule: its name, a sentence that explains it, and the breaks involved."""

    rule: str
    message: str
    cue_ids: tuple[str, ...]


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
