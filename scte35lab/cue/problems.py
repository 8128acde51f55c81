"""``Problem``: one way a section breaks the standard's syntax, as lenient decoding found it."""

from __future__ import annotations

from dataclasses import dataclass

from scte35lab.errors import Scte35Error


@dataclass(frozen=True)
class Problem:
    """Where (structure, field, bit offset in the section) and what, as one sentence."""

    structure: str | None
    field: str | None
    bit: int | None
    text: str

    @classmethod
    def from_error(cls, exc: Scte35Error, consequence: str) -> Problem:
        """The problem a strict decode raised ``exc`` for, with what lenient decode did."""
        return cls(exc.structure, exc.field, exc.bit, f"{exc}; {consequence}")

    @classmethod
    def at(cls, structure: str, field: str, bit: int, message: str) -> Problem:
        """A problem found without an error, worded like one."""
        return cls(structure, field, bit, f"{structure}.{field} at bit {bit}: {message}")

    def __str__(self) -> str:
        return self.text
